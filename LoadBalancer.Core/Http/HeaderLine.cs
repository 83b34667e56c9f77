namespace LoadBalancer.Core.Http;

/// <summary>One header field as offsets into the head buffer (no strings on the hot path).</summary>
public struct HeaderLine
{
    /// <summary>Offset of the field name's first byte.</summary>
    public int NameStart;
    public int NameLength;

    /// <summary>Offset and length of the value with optional leading/trailing whitespace removed.</summary>
    public int ValueStart;
    public int ValueLength;

    /// <summary>Offset of the line's first byte and its length including the CRLF: what to copy or skip when forwarding.</summary>
    public int LineStart;
    public int LineLength;

    public HeaderKind Kind;
}
