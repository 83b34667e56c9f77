namespace LoadBalancer.Core.Http2.Hpack;

/// <summary>
/// One decoded header field: where its name and value sit in the decoder's output buffer. NeverIndexed carries the
/// sender's "never index" mark (RFC 7541 section 7.1.3), which an intermediary must keep when it re-encodes the field.
/// </summary>
internal readonly record struct HpackField(int NameStart, int NameLength, int ValueStart, int ValueLength, bool NeverIndexed)
{
    public ReadOnlySpan<byte> Name(ReadOnlySpan<byte> output) => output.Slice(NameStart, NameLength);

    public ReadOnlySpan<byte> Value(ReadOnlySpan<byte> output) => output.Slice(ValueStart, ValueLength);
}
