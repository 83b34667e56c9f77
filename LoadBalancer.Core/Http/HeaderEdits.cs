namespace LoadBalancer.Core.Http;

/// <summary>
/// The edits one message gets as it is encoded: lb's own (the field that carried the tenant's access key never reaches
/// the backend), the operator's <see cref="HeaderTransform"/>, if any, and for a request its route's path rewrite and
/// Host. The codec applies them in one pass over the field table; hop-by-hop fields and lb's forwarding fields stay
/// the codec's own rules, applied after these.
/// </summary>
public readonly struct HeaderEdits
{
    // Stored plus one, so that default(HeaderEdits) edits nothing.
    private readonly int _removeFieldPlusOne;
    private readonly byte[]? _host;

    public HeaderEdits(int removeField, HeaderTransform? transform, in PathRewrite path = default, byte[]? host = null, ReadOnlyMemory<byte> lines = default)
    {
        Lines = lines;
        _removeFieldPlusOne = removeField < 0 ? 0 : removeField + 1;
        Transform = transform;
        Path = path;
        _host = host;
    }

    /// <summary>No edits: the same as <c>default</c>.</summary>
    public static HeaderEdits None => default;

    /// <summary>Index of one field in the table to drop (the access key's), or -1.</summary>
    public int RemoveField => _removeFieldPlusOne - 1;

    public HeaderTransform? Transform { get; }

    /// <summary>A request's <c>strip_prefix</c> / <c>rewrite_prefix</c> (requests only).</summary>
    public PathRewrite Path { get; }

    /// <summary>The Host to send instead of the client's (a route's <c>host</c>); empty keeps it.</summary>
    public ReadOnlySpan<byte> Host => _host;

    public bool RewritesHost => _host is not null;

    /// <summary>Whole header lines (CRLF-terminated) lb adds itself after the transform's fields: a consumer's RateLimit headers.</summary>
    public ReadOnlyMemory<byte> Lines { get; }

    /// <summary>The most the encoded head grows by.</summary>
    public int AddedBytes => (Transform?.AddedBytes ?? 0) + (Path.IsNone ? 0 : Path.AddedBytes) + (_host is null ? 0 : _host.Length + 8) + Lines.Length;

    /// <summary>Whether field <paramref name="index"/>, named <paramref name="name"/>, is dropped.</summary>
    public bool Drops(int index, ReadOnlySpan<byte> name)
        => index == RemoveField || (Transform is { } transform && transform.Removes(name));
}
