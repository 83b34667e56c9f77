namespace LoadBalancer.Core.Http;

/// <summary>
/// A route's <c>strip_prefix</c> or <c>rewrite_prefix</c>, as the head writer applies it: the first
/// <see cref="StripLength"/> bytes of the path (a prefix on a <c>/</c> boundary that the route's match guarantees) are
/// replaced by <see cref="Prefix"/>; the rest of the path and the query go on byte for byte. With nothing in its place,
/// a path left empty or starting with <c>?</c> gets a <c>/</c> (<c>/v1</c> stripped from <c>/v1?q</c> is <c>/?q</c>).
/// The bytes belong to the snapshot: applying it allocates nothing.
/// </summary>
public readonly struct PathRewrite
{
    private readonly byte[]? _prefix;

    /// <param name="prefix">Without a trailing <c>/</c>; empty (or null) strips only.</param>
    public PathRewrite(int stripLength, byte[]? prefix)
    {
        StripLength = stripLength;
        _prefix = prefix is { Length: > 0 } ? prefix : null;
    }

    public static PathRewrite None => default;

    /// <summary>Leading path bytes removed.</summary>
    public int StripLength { get; }

    /// <summary>Bytes written in their place (<c>rewrite_prefix</c>); empty for <c>strip_prefix</c>.</summary>
    public ReadOnlySpan<byte> Prefix => _prefix;

    public bool IsNone => StripLength == 0 && _prefix is null;

    /// <summary>The most the target grows by.</summary>
    public int AddedBytes => (_prefix?.Length ?? 0) + 1;

    /// <summary>
    /// Writes the rewritten <paramref name="target"/> (origin-form path and query, starting with the stripped prefix)
    /// into <paramref name="destination"/>, which has room for the target plus <see cref="AddedBytes"/>; returns the
    /// bytes written.
    /// </summary>
    public int Write(ReadOnlySpan<byte> target, Span<byte> destination)
    {
        var rest = target[Math.Min(StripLength, target.Length)..];
        var written = 0;
        if (_prefix is { } prefix)
        {
            prefix.CopyTo(destination);
            written = prefix.Length;
        }
        else if (rest.IsEmpty || rest[0] != (byte)'/')
        {
            destination[0] = (byte)'/';
            written = 1;
        }

        rest.CopyTo(destination[written..]);
        return written + rest.Length;
    }
}
