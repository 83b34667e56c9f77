using System.CommandLine;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Host;

/// <summary>
/// The <c>lb</c> command line: <c>lb [--config PATH] [--demo] [--no-watch] [--log-format F] [--log-level L]</c> runs, <c>lb check [--config PATH]</c> validates,
/// <c>lb key new [--id ID]</c> prints a fresh access key and its hash line.
/// </summary>
internal static class LbCommandLine
{
    public static RootCommand Build()
    {
        var config = new Option<string>("--config", "-c")
        {
            Description = "Path to lb.toml",
            DefaultValueFactory = _ => "lb.toml",
            Recursive = true,
        };
        var demo = new Option<bool>("--demo")
        {
            Description = "Also start built-in whoami backends on the pools' loopback addresses",
        };

        var noWatch = new Option<bool>("--no-watch")
        {
            Description = "Do not reload when the config file changes (SIGHUP and POST /reload still do)",
        };

        var logFormat = new Option<string>("--log-format")
        {
            Description = "Console log format: simple (one line per entry), json (JSON lines), systemd (journal); default: systemd under systemd, else simple",
            DefaultValueFactory = _ => "auto",
        };
        logFormat.AcceptOnlyFromAmong("auto", "simple", "json", "systemd");

        var logLevel = new Option<string>("--log-level")
        {
            Description = "Lowest level logged: trace, debug (also why each request was refused), information, warning, error, critical, none",
            DefaultValueFactory = _ => "information",
        };
        logLevel.AcceptOnlyFromAmong("trace", "debug", "information", "warning", "error", "critical", "none");

        var root = new RootCommand("lb: a multi-tenant L4/L7 load balancer");
        root.Options.Add(config);
        root.Options.Add(demo);
        root.Options.Add(noWatch);
        root.Options.Add(logFormat);
        root.Options.Add(logLevel);
        root.SetAction((parse, cancellationToken) => LbRunner.RunAsync(
            new LbOptions(Path.GetFullPath(parse.GetValue(config)!), parse.GetValue(demo), WatchConfig: !parse.GetValue(noWatch))
            {
                LogFormat = Enum.Parse<LogFormat>(parse.GetValue(logFormat)!, ignoreCase: true),
                LogLevel = Enum.Parse<Microsoft.Extensions.Logging.LogLevel>(parse.GetValue(logLevel)!, ignoreCase: true),
            },
            cancellationToken));

        var check = new Command("check", "Validate the configuration and exit (0: valid, 1: errors printed as PATH:LINE:COL: message)");
        check.SetAction(parse => Check(parse.GetValue(config)!));
        root.Subcommands.Add(check);

        var keyId = new Option<string?>("--id")
        {
            Description = "The key id recorded in usage and access logs (default: key-<random>)",
        };
        var keyNew = new Command("new", "Print a fresh access key and the line that accepts it in lb.toml (access_keys) or an access_keys_file");
        keyNew.Options.Add(keyId);
        keyNew.SetAction(parse => NewKey(parse.GetValue(keyId)));
        var key = new Command("key", "Access keys for tenants");
        key.Subcommands.Add(keyNew);
        root.Subcommands.Add(key);
        return root;
    }

    private static int NewKey(string? id)
    {
        id ??= AccessKeyGenerator.NewId();
        var key = AccessKeyGenerator.NewKey();
        var hash = AccessKeyGenerator.Sha256Hex(key);
        Console.WriteLine($"key: {key}");
        Console.WriteLine("  (give it to the client, e.g. Authorization: Bearer <key>; lb stores only its hash)");
        Console.WriteLine($"lb.toml:          {{ id = \"{id}\", sha256 = \"{hash}\" }}");
        Console.WriteLine($"access_keys_file: {id} {hash}");
        return 0;
    }

    private static int Check(string path)
    {
        // lb check lives for one load and exits: a collection on the way is pure cost (at 10,000 tenants the load
        // allocates ~100 MB and a 1 MB gen0 collected it ~100 times, 0.3-0.4 s of the check's CPU, issue 20). With no
        // GC until exit, the peak RSS is what the load allocates, about what the collections kept it at anyway.
        var noGc = NoGcRegionFor(path);
        var result = ConfigLoader.CheckFile(path);
        if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
        {
            GC.EndNoGCRegion();
        }

        if (!result.Success)
        {
            foreach (var error in result.Errors)
            {
                Console.Error.WriteLine(error.ToString());
            }

            return 1;
        }

        // Resolving is the only network use of check, bounded by the query timeout; its failures only warn.
        var dnsWarnings = LoadBalancer.Core.Dns.DnsCheck.WarningsAsync(result.Snapshot!).GetAwaiter().GetResult();
        foreach (var warning in result.Warnings.Concat(dnsWarnings))
        {
            Console.WriteLine($"{warning.File}:{warning.Line}:{warning.Column}: warning: {(warning.Path.Length == 0 ? "" : warning.Path + ": ")}{warning.Message}");
        }

        Console.WriteLine(result.Summary);
        return 0;
    }

    /// <summary>Enters a no-GC region sized for loading <paramref name="path"/> (~40 bytes per byte of TOML), if the runtime allows one that big.</summary>
    private static bool NoGcRegionFor(string path)
    {
        try
        {
            var size = Math.Clamp(new FileInfo(path).Length * 40, 16L << 20, 240L << 20);
            return GC.TryStartNoGCRegion(size);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            // Too big a region for this runtime, or no such file (LoadFile reports that): collect as usual.
            return false;
        }
    }
}
