namespace LoadBalancer.Core.Proxy;

/// <summary>Appends bytes to a span; the caller sizes the span so that writes fit (a slice throws otherwise).</summary>
internal ref struct SpanWriter(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;
    private int _written;

    public readonly int Written => _written;

    public void Write(scoped ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_destination[_written..]);
        _written += bytes.Length;
    }

    public void Write(byte value)
    {
        _destination[_written] = value;
        _written++;
    }
}
