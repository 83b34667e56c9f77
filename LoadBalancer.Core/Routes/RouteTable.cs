using System.Collections.Frozen;
using System.Text;
using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Routes;

/// <summary>
/// A tenant's routes, compiled once per snapshot. <see cref="Match"/> finds the route of a request from its view alone:
/// an exact <c>path</c> first, then <c>path_prefix</c>es from the longest (the path itself, then the path cut at each
/// <c>/</c> from the right, then <c>/</c>). Each is one lookup in a frozen dictionary of this tenant's paths, whose
/// entry lists the routes on that path by precedence (more conditions first, then file order); the first whose methods
/// and headers match wins. The cost is a lookup per path segment plus the conditions on the paths met: it does not
/// grow with the number of routes, this tenant's or any other's. Allocation-free: the path is widened into a stack
/// buffer no longer than the longest configured path.
/// </summary>
public sealed class RouteTable
{
    public static readonly RouteTable Empty = new([]);

    private readonly FrozenDictionary<string, RouteSnapshot[]>.AlternateLookup<ReadOnlySpan<char>> _exact;
    private readonly FrozenDictionary<string, RouteSnapshot[]>.AlternateLookup<ReadOnlySpan<char>> _prefix;
    private readonly int _maxExact;
    private readonly int _maxPrefix;
    private readonly bool _hasExact;

    /// <param name="routes">In file order; paths normalized and unique per condition set (the validator's job).</param>
    public RouteTable(RouteSnapshot[] routes)
    {
        Routes = routes;
        var exact = new Dictionary<string, List<RouteSnapshot>>(StringComparer.Ordinal);
        var prefix = new Dictionary<string, List<RouteSnapshot>>(StringComparer.Ordinal);
        foreach (var route in routes)
        {
            var conditions = route.Conditions!;
            var table = conditions.Exact ? exact : prefix;
            if (!table.TryGetValue(conditions.Path, out var list))
            {
                table[conditions.Path] = list = [];
            }

            list.Add(route);
            if (conditions.Exact)
            {
                _maxExact = Math.Max(_maxExact, conditions.Path.Length);
            }
            else
            {
                _maxPrefix = Math.Max(_maxPrefix, conditions.Path.Length);
            }
        }

        _hasExact = exact.Count > 0;
        _exact = Freeze(exact).GetAlternateLookup<ReadOnlySpan<char>>();
        _prefix = Freeze(prefix).GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Every route in file order.</summary>
    public RouteSnapshot[] Routes { get; }

    public int Count => Routes.Length;

    /// <summary>The route of <paramref name="request"/>, or null when none matches (the tenant's fallback then applies).</summary>
    public RouteSnapshot? Match(in RequestView request)
    {
        if (Routes.Length == 0)
        {
            return null;
        }

        var path = PathOf(request.Target);
        if (path.IsEmpty || path[0] != (byte)'/')
        {
            return null;
        }

        Span<char> chars = stackalloc char[Math.Min(path.Length, Math.Max(_maxExact, _maxPrefix))];
        Encoding.Latin1.GetChars(path[..chars.Length], chars);
        if (_hasExact && path.Length <= _maxExact && Pick(_exact, chars, request) is { } exactRoute)
        {
            return exactRoute;
        }

        if (path.Length <= _maxPrefix && Pick(_prefix, chars[..path.Length], request) is { } whole)
        {
            return whole;
        }

        // The path cut before each '/' from the right; a cut longer than every prefix cannot match.
        var end = Math.Min(path.Length, _maxPrefix + 1);
        for (var slash = path[..end].LastIndexOf((byte)'/'); slash > 0; slash = path[..slash].LastIndexOf((byte)'/'))
        {
            if (slash <= _maxPrefix && Pick(_prefix, chars[..slash], request) is { } route)
            {
                return route;
            }
        }

        return Pick(_prefix, "/", request);
    }

    /// <summary>
    /// The path a route matches: the target's path without its query, for origin-form and absolute-form targets alike
    /// (<c>http://host/a?b</c> gives <c>/a</c>, <c>http://host</c> gives <c>/</c>); empty for <c>*</c>.
    /// </summary>
    public static ReadOnlySpan<byte> PathOf(ReadOnlySpan<byte> target)
    {
        var start = PathStart(target);
        if (start < 0)
        {
            return start == -2 ? "/"u8 : default;
        }

        var path = target[start..];
        var query = path.IndexOf((byte)'?');
        return query < 0 ? path : path[..query];
    }

    /// <summary>Where the path starts in <paramref name="target"/>: 0 for origin-form, after the authority for absolute-form; -2 when an absolute-form target has no path, -1 for none (<c>*</c>).</summary>
    public static int PathStart(ReadOnlySpan<byte> target)
    {
        if (!target.IsEmpty && target[0] == (byte)'/')
        {
            return 0;
        }

        var scheme = target.IndexOf("://"u8);
        if (scheme < 0)
        {
            return -1;
        }

        var afterScheme = scheme + 3;
        var path = target[afterScheme..].IndexOfAny((byte)'/', (byte)'?');
        return path < 0 || target[afterScheme + path] == (byte)'?' ? -2 : afterScheme + path;
    }

    private static RouteSnapshot? Pick(FrozenDictionary<string, RouteSnapshot[]>.AlternateLookup<ReadOnlySpan<char>> table, ReadOnlySpan<char> path, in RequestView request)
    {
        if (!table.TryGetValue(path, out var routes))
        {
            return null;
        }

        foreach (var route in routes)
        {
            if (route.Conditions!.Matches(request))
            {
                return route;
            }
        }

        return null;
    }

    private static FrozenDictionary<string, RouteSnapshot[]> Freeze(Dictionary<string, List<RouteSnapshot>> table)
    {
        var frozen = new Dictionary<string, RouteSnapshot[]>(table.Count, StringComparer.Ordinal);
        foreach (var (path, list) in table)
        {
            // Precedence within one path: more conditions first, then file order (the list is in file order: stable sort).
            frozen[path] = [.. list.OrderByDescending(r => r.Conditions!.Count)];
        }

        return frozen.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
