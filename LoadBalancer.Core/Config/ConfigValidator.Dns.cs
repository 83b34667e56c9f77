namespace LoadBalancer.Core.Config;

/// <summary><c>[dns]</c>: server addresses and the TTL clamps; the names themselves are checked with the pools.</summary>
internal static partial class ConfigValidator
{
    private static void ValidateDns(LbConfigFile file, ConfigErrorList errors)
    {
        if (file.Dns is not { } dns)
        {
            return;
        }

        for (var i = 0; i < (dns.Servers?.Count ?? 0); i++)
        {
            if (dns.Servers![i] is { } server && !ConfigSyntax.TryParseDnsServer(server.Value, out _))
            {
                errors.Add(server.Position, $"dns.servers[{i}]", $"\"{server.Value}\" must be an IP address with an optional port (53 when absent), e.g. \"127.0.0.1:5353\" or \"10.0.0.2\"");
            }
        }

        if (dns.Servers is { Count: 0 })
        {
            errors.Add(dns.ServersPosition, "dns.servers", "must list at least one server (leave it out to use the system's resolv.conf)");
        }

        CheckDuration(dns.MinTtl, "dns.min_ttl", errors);
        CheckDuration(dns.MaxTtl, "dns.max_ttl", errors);
        CheckDuration(dns.Hold, "dns.hold", errors);
        if (dns.MinTtl is { } min && dns.MaxTtl is { } max
            && ConfigSyntax.TryParseDuration(min.Value, out var minTtl) && ConfigSyntax.TryParseDuration(max.Value, out var maxTtl)
            && minTtl > maxTtl)
        {
            errors.Add(max.Position, "dns.max_ttl", $"\"{max.Value}\" must not be shorter than dns.min_ttl (\"{min.Value}\")");
        }
    }
}
