namespace LoadBalancer.Core.Http;

/// <summary>Strict RFC 9112 head parser over one contiguous buffer. Allocation-free.</summary>
public static class Http1HeadParser
{
    /// <summary>
    /// Parses a request head from the start of <paramref name="data"/>. Returns Incomplete until the empty line that
    /// ends the head is present (or Invalid with 431/414 once the limits are exceeded without one).
    /// </summary>
    public static HeadParseStatus TryParseRequest(ReadOnlySpan<byte> data, HttpLimits limits, ref HttpMessageHead head, Span<HeaderLine> headers)
        => throw new NotImplementedException();

    /// <summary>Parses a response head from the start of <paramref name="data"/> (Invalid means: answer the client 502).</summary>
    public static HeadParseStatus TryParseResponse(ReadOnlySpan<byte> data, HttpLimits limits, ref HttpMessageHead head, Span<HeaderLine> headers)
        => throw new NotImplementedException();
}
