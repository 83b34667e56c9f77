namespace LoadBalancer.Core.Http;

/// <summary>
/// A request head as every protocol hands it to the per-request steps (tenant lookup, admission, hashing, the access
/// log): method, authority, target and header fields as slices of one source buffer, and the body framing as a fact.
/// The HTTP/1 codec builds one over its parse (Http1.Http1Request.View); an HTTP/2 stream will build one over its
/// decoded header block. Nothing here knows lines, versions or connection tokens. A ref struct over pooled bytes:
/// it costs no allocation, and lives only for the synchronous steps that read it.
/// </summary>
public readonly ref struct RequestView
{
    private readonly int _methodStart;
    private readonly int _methodLength;
    private readonly int _authorityStart;
    private readonly int _authorityLength;
    private readonly int _targetStart;
    private readonly int _targetLength;

    public RequestView(
        ReadOnlySpan<byte> source,
        ReadOnlySpan<HeaderLine> fields,
        HttpMethod method,
        (int Start, int Length) methodName,
        (int Start, int Length) authority,
        (int Start, int Length) target,
        BodyFraming framing,
        long contentLength,
        int wireLength)
    {
        Source = source;
        Fields = fields;
        Method = method;
        (_methodStart, _methodLength) = methodName;
        (_authorityStart, _authorityLength) = authority;
        (_targetStart, _targetLength) = target;
        Framing = framing;
        ContentLength = contentLength;
        WireLength = wireLength;
    }

    /// <summary>The bytes every slice and field offset points into.</summary>
    public ReadOnlySpan<byte> Source { get; }

    /// <summary>The header fields (name and value offsets into <see cref="Source"/>, and their kind).</summary>
    public ReadOnlySpan<HeaderLine> Fields { get; }

    public HttpMethod Method { get; }

    /// <summary>The method as sent (an extension method keeps its name here).</summary>
    public ReadOnlySpan<byte> MethodName => Source.Slice(_methodStart, _methodLength);

    /// <summary>What the request is routed on by host: an absolute-form target's authority or Host (HTTP/1), :authority (HTTP/2).</summary>
    public ReadOnlySpan<byte> Authority => Source.Slice(_authorityStart, _authorityLength);

    /// <summary>The request target as received: path and query (origin-form), or the absolute form.</summary>
    public ReadOnlySpan<byte> Target => Source.Slice(_targetStart, _targetLength);

    public BodyFraming Framing { get; }

    /// <summary>The declared length, or -1 when none was declared.</summary>
    public long ContentLength { get; }

    /// <summary>Bytes of the head as it came over the wire (for byte accounting).</summary>
    public int WireLength { get; }
}
