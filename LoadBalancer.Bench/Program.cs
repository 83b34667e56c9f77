using BenchmarkDotNet.Running;
using LoadBalancer.Bench.Load;

namespace LoadBalancer.Bench;

/// <summary>
/// <c>load [options]</c>: the macro run (lb against direct, HAProxy, nginx; see <see cref="LoadOptions.Usage"/>).
/// Anything else goes to BenchmarkDotNet's switcher for the micro benchmarks, e.g. <c>--filter *TenantLookup*</c>.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "load")
        {
            // Like lb itself: socket continuations run on the epoll thread (read once, before the first socket),
            // so the generator and the backends spend their core on requests rather than thread-pool hops.
            if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
            {
                Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
            }

            return await LoadRunner.RunAsync(args[1..]).ConfigureAwait(false);
        }

        if (args.Length > 0 && args[0] == "scale")
        {
            return await ScaleRun.RunAsync(args[1..]).ConfigureAwait(false);
        }

        if (args.Length > 0 && args[0] == "yarp-peer")
        {
            return await YarpPeer.RunAsync(args[1..]).ConfigureAwait(false);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
