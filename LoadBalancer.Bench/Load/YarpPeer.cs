using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// <c>yarp-peer --port P --tenants N --backends host:port,...</c>: YARP on Kestrel, configured like the other peers
/// (the tenants' Host names, round-robin over the same backends), run by the load bench as its own process.
/// This is the only ASP.NET Core code in the repository, and it is a benchmark peer, never shipped.
/// </summary>
internal static class YarpPeer
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(Value(args, "--port"), System.Globalization.CultureInfo.InvariantCulture);
        var tenants = int.Parse(Value(args, "--tenants"), System.Globalization.CultureInfo.InvariantCulture);
        var backends = Value(args, "--backends").Split(',', StringSplitOptions.RemoveEmptyEntries);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, port));
        var hosts = new string[tenants];
        for (var i = 0; i < tenants; i++)
        {
            hosts[i] = PeerConfigs.TenantHost(i);
        }

        var destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal);
        for (var i = 0; i < backends.Length; i++)
        {
            destinations[$"d{i}"] = new DestinationConfig { Address = $"http://{backends[i]}/" };
        }

        builder.Services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "tenants", ClusterId = "pool", Match = new RouteMatch { Hosts = hosts, Path = "{**all}" } }],
            [new ClusterConfig { ClusterId = "pool", LoadBalancingPolicy = "RoundRobin", Destinations = destinations }]);
        var app = builder.Build();
        app.MapReverseProxy();

        // Unknown Host: 421 like the other peers.
        app.MapFallback(context =>
        {
            context.Response.StatusCode = 421;
            return Task.CompletedTask;
        });
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }

    private static string Value(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : throw new ArgumentException($"missing {name}");
    }
}
