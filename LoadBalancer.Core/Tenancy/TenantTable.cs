using System.Buffers;
using System.Collections.Frozen;
using System.Text;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// Finds the tenant for a tenant-key value taken straight from the request bytes, without allocating.
/// Host keys are case-insensitive, ignore the port and a trailing dot, and support <c>*.example.com</c> wildcards
/// (any depth, most specific suffix wins, exact names beat wildcards). Header keys are case-insensitive exact matches.
/// Path-prefix keys match the longest configured prefix on a <c>/</c> boundary, case-sensitively.
/// </summary>
public sealed class TenantTable
{
    private const int MaxKeyChars = 512;

    private readonly TenantKeyKind _kind;
    private readonly FrozenDictionary<string, TenantSnapshot>.AlternateLookup<ReadOnlySpan<char>> _exact;
    private readonly FrozenDictionary<string, TenantSnapshot>.AlternateLookup<ReadOnlySpan<char>> _wildcard;
    private readonly bool _hasWildcards;
    private readonly int _count;

    public static TenantTable Empty(TenantKeyKind kind) => new(kind, []);

    /// <param name="matches">Each configured <c>match</c> value with its tenant; values must already be unique.</param>
    public TenantTable(TenantKeyKind kind, IEnumerable<KeyValuePair<string, TenantSnapshot>> matches)
    {
        _kind = kind;
        var comparer = kind == TenantKeyKind.PathPrefix ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
        var exact = new Dictionary<string, TenantSnapshot>(comparer);
        var wildcard = new Dictionary<string, TenantSnapshot>(comparer);
        foreach (var (match, tenant) in matches)
        {
            var key = NormalizeConfigured(kind, match);
            if (kind is TenantKeyKind.Host or TenantKeyKind.Sni && key.StartsWith("*.", StringComparison.Ordinal))
            {
                wildcard[key[1..]] = tenant;
            }
            else
            {
                exact[key] = tenant;
            }
        }

        _count = exact.Count + wildcard.Count;
        _hasWildcards = wildcard.Count > 0;
        _exact = exact.ToFrozenDictionary(comparer).GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcard = wildcard.ToFrozenDictionary(comparer).GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public TenantKeyKind Kind => _kind;

    /// <summary>The configured match values (normalized, wildcards as <c>*.domain</c>) with their tenants: for reload diffs, off the request path.</summary>
    public IEnumerable<(string Match, TenantSnapshot Tenant)> Matches()
    {
        foreach (var (key, tenant) in _exact.Dictionary)
        {
            yield return (key, tenant);
        }

        foreach (var (key, tenant) in _wildcard.Dictionary)
        {
            yield return ("*" + key, tenant);
        }
    }

    public int Count => _count;

    /// <summary>Normalizes a configured match value the same way request keys are normalized.</summary>
    public static string NormalizeConfigured(TenantKeyKind kind, string match)
    {
        switch (kind)
        {
            case TenantKeyKind.Host or TenantKeyKind.Sni:
                var host = match.Trim().ToLowerInvariant();
                return host.EndsWith('.') ? host[..^1] : host;
            case TenantKeyKind.PathPrefix:
                var path = match.Trim();
                return path.Length > 1 && path.EndsWith('/') ? path[..^1] : path;
            default:
                return match.Trim();
        }
    }

    /// <summary>Looks up the tenant for a raw key (Host value, header value, or request target). Null when none matches.</summary>
    public TenantSnapshot? Find(ReadOnlySpan<byte> rawKey)
    {
        if (_count == 0 || rawKey.Length > MaxKeyChars)
        {
            return null;
        }

        Span<char> chars = stackalloc char[MaxKeyChars];
        if (Ascii.ToUtf16(rawKey, chars, out var written) != OperationStatus.Done)
        {
            return null;
        }

        var key = chars[..written];
        return _kind switch
        {
            TenantKeyKind.Host or TenantKeyKind.Sni => FindHost(key),
            TenantKeyKind.PathPrefix => FindPathPrefix(key),
            _ => _exact.TryGetValue(key, out var tenant) ? tenant : null,
        };
    }

    private TenantSnapshot? FindHost(ReadOnlySpan<char> host)
    {
        host = StripPort(host);
        if (host.Length > 0 && host[^1] == '.')
        {
            host = host[..^1];
        }

        if (_exact.TryGetValue(host, out var tenant))
        {
            return tenant;
        }

        if (!_hasWildcards)
        {
            return null;
        }

        // Longest suffix first, so "*.eu.acme.com" beats "*.acme.com" for "x.eu.acme.com".
        for (var i = host.IndexOf('.'); i >= 0; i = NextDot(host, i))
        {
            if (_wildcard.TryGetValue(host[i..], out tenant))
            {
                return tenant;
            }
        }

        return null;
    }

    private static int NextDot(ReadOnlySpan<char> host, int current)
    {
        var next = host[(current + 1)..].IndexOf('.');
        return next < 0 ? -1 : current + 1 + next;
    }

    private static ReadOnlySpan<char> StripPort(ReadOnlySpan<char> host)
    {
        if (host.Length > 0 && host[0] == '[')
        {
            var close = host.IndexOf(']');
            return close < 0 ? host : host[..(close + 1)];
        }

        var colon = host.LastIndexOf(':');
        return colon < 0 ? host : host[..colon];
    }

    private TenantSnapshot? FindPathPrefix(ReadOnlySpan<char> target)
    {
        var query = target.IndexOfAny('?', '#');
        var path = query < 0 ? target : target[..query];
        if (path.Length > 1 && path[^1] == '/')
        {
            path = path[..^1];
        }

        while (true)
        {
            if (_exact.TryGetValue(path, out var tenant))
            {
                return tenant;
            }

            var slash = path.LastIndexOf('/');
            if (slash < 0)
            {
                return null;
            }

            // "/acme" shortens to "/" (the catch-all, if configured), then stops.
            if (slash == 0)
            {
                return path.Length > 1 && _exact.TryGetValue("/", out tenant) ? tenant : null;
            }

            path = path[..slash];
        }
    }
}
