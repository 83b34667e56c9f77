namespace LoadBalancer.Core.Dashboard;

/// <summary>
/// A fixed ring of the last <see cref="Slots"/> samples of a few float series (one row of <c>fields</c> values per
/// slot): the dashboard's 15-minute history. Written by the sampler, read under the sampler's lock.
/// </summary>
internal sealed class SparkRing
{
    private readonly float[] _values;
    private readonly int _fields;
    private int _next;
    private int _count;

    public SparkRing(int fields, int slots)
    {
        _fields = fields;
        Slots = slots;
        _values = new float[fields * slots];
    }

    public int Slots { get; }

    /// <summary>Slots written so far, up to <see cref="Slots"/>.</summary>
    public int Count => _count;

    public void Push(ReadOnlySpan<float> row)
    {
        row.CopyTo(_values.AsSpan(_next * _fields, _fields));
        _next = (_next + 1) % Slots;
        _count = Math.Min(_count + 1, Slots);
    }

    /// <summary>The <paramref name="index"/>-th oldest value of series <paramref name="field"/> (0 .. Count - 1).</summary>
    public float Get(int field, int index)
    {
        var slot = (_next - _count + index + Slots) % Slots;
        return _values[(slot * _fields) + field];
    }
}
