using LoadBalancer.Core.Dns;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Config;

/// <summary>Backends by DNS name: <c>[dns]</c> and the pools' name entries, carried over reloads.</summary>
internal static partial class SnapshotCompiler
{
    private static DnsSettings CompileDns(LbDnsSection? dns)
    {
        if (dns is null)
        {
            return DnsSettings.Default;
        }

        var servers = new List<System.Net.IPEndPoint>();
        foreach (var server in dns.Servers ?? [])
        {
            if (server is not null && ConfigSyntax.TryParseDnsServer(server.Value, out var endPoint))
            {
                servers.Add(endPoint);
            }
        }

        return new DnsSettings
        {
            Servers = servers,
            MinTtl = Duration(dns.MinTtl, DnsSettings.DefaultMinTtl),
            MaxTtl = Duration(dns.MaxTtl, DnsSettings.DefaultMaxTtl),
            Hold = Duration(dns.Hold, DnsSettings.DefaultHold),
        };
    }

    /// <summary>
    /// The target for a name entry, sharing the live part (answer, counts) of the previous snapshot's for the same pool
    /// and address text, so its resolved backends and their live state survive the reload; else new, and the resolver
    /// resolves it at once. A weight change goes to the resolved backends' configs, recorded so that a rejected reload
    /// can put it back (as <see cref="Reuse"/> does for literals).
    /// </summary>
    private static DnsTarget CarryDnsTarget(PoolSnapshot? oldPool, string pool, LbBackendEntry entry, string host, int port, int weight, List<(BackendState State, Backend Previous)> replaced)
    {
        var address = entry.Address!;
        DnsTarget? carried = null;
        foreach (var old in oldPool?.DnsTargets ?? [])
        {
            if (old.Entry == address.Value)
            {
                carried = old;
                foreach (var backend in old.Answer.Backends)
                {
                    if (backend.Config.Weight != weight)
                    {
                        replaced.Add((backend, backend.Config));
                        backend.Config = backend.Config with { Weight = weight };
                    }
                }

                break;
            }
        }

        return new DnsTarget(pool, address.Value, host, port, weight, carried)
        {
            Source = (TomlConfigLoader.Join(entry.Path, "address"), address.Position.Line, address.Position.Column),
        };
    }
}
