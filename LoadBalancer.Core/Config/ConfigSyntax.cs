using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Config;

/// <summary>
/// Parsers for the string formats inside lb.toml. Shared by <see cref="ConfigValidator"/> (which reports failures)
/// and <see cref="SnapshotCompiler"/> (which only runs on validated input), so both agree on every format.
/// </summary>
internal static class ConfigSyntax
{
    public const string ListenFormat = "must be IPv4:port, [IPv6]:port or *:port, e.g. \"127.0.0.1:8080\"";
    public const string BackendFormat = "must be host:port with an IP address, localhost or a DNS name, e.g. \"127.0.0.1:9001\", \"[::1]:9001\" or \"api.internal:8443\"";
    public const string DurationFormat = "must be a positive whole number with a unit ms, s, m or h, e.g. \"250ms\", \"10s\", \"2m\"";

    // Keeps every duration far from TimeSpan overflow; a day is already longer than any sane timeout.
    private static readonly TimeSpan MaxDuration = TimeSpan.FromDays(1);

    /// <summary>Listener and admin addresses: an IP literal or <c>*</c> (IPv4 any); port 0 lets the OS choose, which tests rely on.</summary>
    public static bool TryParseListen(string value, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (!TrySplitHostPort(value, out var host, out var bracketed, out var port))
        {
            return false;
        }

        IPAddress? address;
        if (!bracketed && host == "*")
        {
            address = IPAddress.Any;
        }
        else if (!TryParseIp(host, bracketed, out address))
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }

    /// <summary>Backend addresses: an IP literal or <c>localhost</c> (127.0.0.1, so no DNS at load time); the port must be real.</summary>
    public static bool TryParseBackend(string value, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (!TrySplitHostPort(value, out var host, out var bracketed, out var port) || port == 0)
        {
            return false;
        }

        IPAddress? address;
        if (!bracketed && host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
        }
        else if (!TryParseIp(host, bracketed, out address)
            || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }

    /// <summary>
    /// A backend written as a DNS name with a real port, e.g. <c>api.internal:8443</c>: resolved by the resolver task
    /// (never at load time). False for IP literals and localhost, which <see cref="TryParseBackend"/> takes.
    /// </summary>
    public static bool TryParseNamedBackend(string value, out string host, out int port)
    {
        host = "";
        port = 0;
        if (!TrySplitHostPort(value, out var name, out var bracketed, out port) || port == 0 || bracketed
            || name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || !IsHostName(name) || !name.AsSpan().ContainsAnyExcept("0123456789.") || name.StartsWith("*.", StringComparison.Ordinal))
        {
            return false;
        }

        host = name.TrimEnd('.').ToLowerInvariant();
        return host.Length > 0;
    }

    /// <summary><c>[dns] servers</c> entries: an IP literal with an optional port (53 when absent).</summary>
    public static bool TryParseDnsServer(string value, out IPEndPoint endPoint)
    {
        endPoint = null!;
        // A bare IPv6 literal has colons of its own: only its bracketed form can carry a port.
        if (!value.StartsWith('[') && IPAddress.TryParse(value, out var bare)
            && (bare.AddressFamily == AddressFamily.InterNetworkV6 || !value.Contains(':', StringComparison.Ordinal)))
        {
            endPoint = new IPEndPoint(bare, 53);
            return true;
        }

        if (!TrySplitHostPort(value, out var host, out var bracketed, out var port) || port == 0 || !TryParseIp(host, bracketed, out var address))
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }

    public const string RedisFormat = "must be host:port (an IP address, localhost or a DNS name), e.g. \"127.0.0.1:6379\"";

    /// <summary>
    /// <c>[cluster] redis</c>: an IP literal, <c>localhost</c> or a DNS name with a real port. Unlike a backend a name is
    /// allowed: the Redis client resolves it when it connects, in the background, never at load time.
    /// </summary>
    public static bool TryParseRedis(string value)
    {
        if (!TrySplitHostPort(value, out var host, out var bracketed, out var port) || port == 0)
        {
            return false;
        }

        if (bracketed)
        {
            return TryParseIp(host, bracketed, out _);
        }

        return TryParseIp(host, bracketed, out _) || (IsHostName(host) && host.AsSpan().ContainsAnyExcept("0123456789."));
    }

    /// <summary>A duration as lb.toml writes it, in the largest unit that divides it: <c>"30s"</c>, <c>"250ms"</c>, <c>"2m"</c>.</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var ms = (long)duration.TotalMilliseconds;
        return ms switch
        {
            0 => "0s",
            _ when ms % 3_600_000 == 0 => $"{ms / 3_600_000}h",
            _ when ms % 60_000 == 0 => $"{ms / 60_000}m",
            _ when ms % 1000 == 0 => $"{ms / 1000}s",
            _ => $"{ms}ms",
        };
    }

    public static bool TryParseDuration(string value, out TimeSpan duration)
    {
        duration = default;
        var digits = 0;
        while (digits < value.Length && char.IsAsciiDigit(value[digits]))
        {
            digits++;
        }

        // Nine digits cannot overflow a long of milliseconds whatever the unit.
        if (digits == 0 || digits > 9)
        {
            return false;
        }

        var number = long.Parse(value.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture);
        duration = value.AsSpan(digits) switch
        {
            "ms" => TimeSpan.FromMilliseconds(number),
            "s" => TimeSpan.FromSeconds(number),
            "m" => TimeSpan.FromMinutes(number),
            "h" => TimeSpan.FromHours(number),
            _ => TimeSpan.Zero,
        };

        return duration > TimeSpan.Zero && duration <= MaxDuration;
    }

    /// <summary><c>host</c> | <c>header:Name</c> | <c>path-prefix</c>.</summary>
    public static bool TryParseTenantKey(string value, out TenantKeyKind kind, out string? headerName)
    {
        headerName = null;
        kind = TenantKeyKind.Host;
        switch (value)
        {
            case "host":
                return true;
            case "path-prefix":
                kind = TenantKeyKind.PathPrefix;
                return true;
            case "sni":
                kind = TenantKeyKind.Sni;
                return true;
        }

        if (value.StartsWith("header:", StringComparison.Ordinal) && IsToken(value.AsSpan(7)))
        {
            kind = TenantKeyKind.Header;
            headerName = value[7..];
            return true;
        }

        return false;
    }

    /// <summary><c>client-ip</c> | <c>header:Name</c> | <c>cookie:Name</c> | <c>path</c>.</summary>
    public static bool TryParseHashOn(string value, out HashSource source, out string? name)
    {
        name = null;
        source = HashSource.ClientIp;
        switch (value)
        {
            case "client-ip":
                return true;
            case "path":
                source = HashSource.Path;
                return true;
        }

        if (value.StartsWith("header:", StringComparison.Ordinal) && IsToken(value.AsSpan(7)))
        {
            source = HashSource.Header;
            name = value[7..];
            return true;
        }

        if (value.StartsWith("cookie:", StringComparison.Ordinal) && IsToken(value.AsSpan(7)))
        {
            source = HashSource.Cookie;
            name = value[7..];
            return true;
        }

        return false;
    }

    /// <summary>Returns null when a <c>match</c> value is acceptable for the key kind, else why not.</summary>
    public static string? CheckMatch(TenantKeyKind kind, string match)
    {
        var value = match.Trim();
        switch (kind)
        {
            case TenantKeyKind.Host or TenantKeyKind.Sni:
                if (value == "*")
                {
                    return "\"*\" is not a host name; use default_tenant on the listener for a catch-all";
                }

                var host = value.StartsWith("*.", StringComparison.Ordinal) ? value[2..] : value;
                host = host.EndsWith('.') ? host[..^1] : host;
                if (host.StartsWith('[') && host.EndsWith(']'))
                {
                    return value.StartsWith('*') || !IPAddress.TryParse(host[1..^1], out var ip6) || ip6.AddressFamily != AddressFamily.InterNetworkV6
                        ? $"\"{match}\" is not a valid host name"
                        : null;
                }

                if (host.Contains(':', StringComparison.Ordinal))
                {
                    return $"\"{match}\" must not include a port (ports are ignored when matching)";
                }

                return IsHostName(host) ? null : $"\"{match}\" is not a valid host name or *.suffix wildcard";
            case TenantKeyKind.PathPrefix:
                if (!value.StartsWith('/') || value.AsSpan().IndexOfAny("?# ") >= 0)
                {
                    return $"\"{match}\" must be a path starting with \"/\", without query or fragment";
                }

                return null;
            default:
                return value.Length == 0 ? "must not be empty" : null;
        }
    }

    /// <summary><c>retention</c>: <c>"400d"</c> (1..36500 days), or any duration.</summary>
    public static bool TryParseRetention(string value, out TimeSpan retention)
    {
        if (value.Length > 1 && value[^1] == 'd' && int.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days is > 0 and <= 36500)
        {
            retention = TimeSpan.FromDays(days);
            return true;
        }

        return TryParseDuration(value, out retention);
    }

    /// <summary>A path prefix without its trailing <c>/</c> (<c>/v1/</c> is <c>/v1</c>), except <c>/</c> itself.</summary>
    public static string NormalizePrefix(string prefix)
    {
        if (prefix.Length <= 1 || !prefix.EndsWith('/'))
        {
            return prefix;
        }

        var trimmed = prefix.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed;
    }

    /// <summary>RFC 9110 section 5.6.2 token: what a header or cookie name may contain.</summary>
    public static bool IsToken(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && "!#$%&'*+-.^_`|~".IndexOf(c, StringComparison.Ordinal) < 0)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsHostName(string host)
    {
        if (host.Length is 0 or > 253)
        {
            return false;
        }

        foreach (var label in host.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool TrySplitHostPort(string value, out string host, out bool bracketed, out int port)
    {
        host = "";
        port = 0;
        bracketed = value.StartsWith('[');
        int colon;
        if (bracketed)
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= value.Length || value[close + 1] != ':')
            {
                return false;
            }

            host = value[1..close];
            colon = close + 1;
        }
        else
        {
            colon = value.LastIndexOf(':');

            // A second colon means an unbracketed IPv6 literal, where the port would be ambiguous.
            if (colon <= 0 || value.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                return false;
            }

            host = value[..colon];
        }

        var portText = value.AsSpan(colon + 1);
        return portText.Length is > 0 and <= 5
            && int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port <= IPEndPoint.MaxPort;
    }

    /// <summary>Strict: IPv4 only as four dotted decimals (IPAddress.TryParse would take "1" as 0.0.0.1), IPv6 only in brackets.</summary>
    private static bool TryParseIp(string host, bool bracketed, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (bracketed)
        {
            return IPAddress.TryParse(host, out address) && address.AddressFamily == AddressFamily.InterNetworkV6;
        }

        if (host.Count(c => c == '.') != 3 || host.AsSpan().ContainsAnyExcept("0123456789."))
        {
            return false;
        }

        return IPAddress.TryParse(host, out address) && address.AddressFamily == AddressFamily.InterNetwork;
    }
}
