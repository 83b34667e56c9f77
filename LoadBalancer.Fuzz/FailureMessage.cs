using System.Runtime.CompilerServices;

namespace LoadBalancer.Fuzz;

/// <summary>Interpolated message for <see cref="Check.That(bool, ref FailureMessage)"/> that formats nothing when the check passes.</summary>
[InterpolatedStringHandler]
internal ref struct FailureMessage
{
    private DefaultInterpolatedStringHandler _inner;
    private readonly bool _enabled;

    public FailureMessage(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
    {
        _enabled = !condition;
        shouldAppend = _enabled;
        _inner = _enabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    public void AppendLiteral(string value) => _inner.AppendLiteral(value);

    public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

    public string ToStringAndClear() => _enabled ? _inner.ToStringAndClear() : string.Empty;
}
