using System.Diagnostics;
using System.Globalization;
using System.Net;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Config;
using Tomlyn.Parsing;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// <c>scale --profile</c>: the stages of loading the many-tenant file in this process, each timed (best of
/// <c>rounds</c>) with the bytes it allocated, so a regression shows which stage it is in.
/// </summary>
internal static class ScaleProfile
{
    public static void Run(int tenants, int rounds)
    {
        var text = ScaleConfig.Lb(tenants, 8080, 8081, [new IPEndPoint(IPAddress.Loopback, 9001), new IPEndPoint(IPAddress.Loopback, 9002)]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"profile: {tenants} tenants, {text.Length / 1e6:0.00} MB of TOML"));
        Stage("Tomlyn parse (no validation)", rounds, () => SyntaxParser.Parse(text, "lb.toml", validate: false));
        Stage("Tomlyn parse (validate)", rounds, () => SyntaxParser.Parse(text, "lb.toml", validate: true));
        var document = SyntaxParser.Parse(text, "lb.toml", validate: true);
        Stage("tree", rounds, () => TomlConfigLoader.BuildTree(document));
        Stage("fast tree (event parser)", rounds, () => TomlConfigLoader.TryBuildTreeFast(text));
        Stage("TomlConfigLoader.TryLoadFast (tree + read)", rounds, () => TomlConfigLoader.TryLoadFast(text, "lb.toml"));
        Stage("TomlConfigLoader.Load (syntax-tree path, errors)", rounds, () => TomlConfigLoader.Load(text, new ConfigErrorList("lb.toml")));
        var file = TomlConfigLoader.TryLoadFast(text, "lb.toml") ?? throw new InvalidOperationException("the fast path refused the generated file");
        Stage("validate", rounds, () => ConfigValidator.Validate(file, BalancerRegistry.Default, new ConfigErrorList("lb.toml")));
        Stage("compile (no previous)", rounds, () => SnapshotCompiler.Compile(file, "lb.toml", null, BalancerRegistry.Default));
        var previous = SnapshotCompiler.Compile(file, "lb.toml", null, BalancerRegistry.Default);
        Stage("compile (with previous)", rounds, () => SnapshotCompiler.Compile(file, "lb.toml", previous, BalancerRegistry.Default));
        Stage("ConfigLoader.LoadText (whole reload load)", rounds, () => ConfigLoader.LoadText(text, "lb.toml", previous));
        GC.Collect();
        var before = GC.GetTotalMemory(true);
        var loaded = ConfigLoader.LoadText(text, "lb.toml");
        var kept = loaded.Snapshot ?? throw new InvalidOperationException($"the generated file did not load: {string.Join("; ", loaded.Errors.Take(3))}");
        var after = GC.GetTotalMemory(true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  one live snapshot: {(after - before) / 1e6,8:0.0} MB of managed heap ({kept!.Tenants.Count} tenants)"));
    }

    private static void Stage(string name, int rounds, Action action)
    {
        var best = double.MaxValue;
        long allocated = 0;
        for (var i = 0; i < rounds; i++)
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var started = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            allocated = GC.GetAllocatedBytesForCurrentThread() - bytes;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-44} {best,8:0.0} ms  {allocated / 1e6,8:0.0} MB allocated"));
    }
}
