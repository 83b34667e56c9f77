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

    /// <summary>The space left, for a writer of its own (then <see cref="Advance"/> by what it wrote).</summary>
    public readonly Span<byte> Free => _destination[_written..];

    public void Advance(int count) => _written += count;

    public void Write(byte value)
    {
        _destination[_written] = value;
        _written++;
    }
}
