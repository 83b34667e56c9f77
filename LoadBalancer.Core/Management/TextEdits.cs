using System.Text;

namespace LoadBalancer.Core.Management;

/// <summary>
/// Replacements of ranges of the original text, applied together, so every range keeps pointing into the text the
/// syntax tree was parsed from. Ranges must not overlap; insertions at one offset keep the order they were added in.
/// </summary>
internal sealed class TextEdits(string text)
{
    private readonly List<(int Start, int End, string Replacement, int Order)> _edits = [];

    public string Original => text;

    public int Count => _edits.Count;

    public void Replace(int start, int end, string replacement) => _edits.Add((start, end, replacement, _edits.Count));

    public void Insert(int offset, string insertion) => Replace(offset, offset, insertion);

    public void Delete(int start, int end) => Replace(start, end, "");

    public string Apply()
    {
        // Back to front, so earlier offsets stay valid; at one offset the wider range first (a deletion before an
        // insertion there), and of insertions the later one first, so they read in the order they were added.
        _edits.Sort((a, b) => a.Start != b.Start ? b.Start.CompareTo(a.Start) : a.End != b.End ? b.End.CompareTo(a.End) : b.Order.CompareTo(a.Order));
        var result = new StringBuilder(text);
        var limit = int.MaxValue;
        foreach (var (start, end, replacement, _) in _edits)
        {
            if (end > limit)
            {
                throw new InvalidOperationException($"overlapping edits at {start}..{end}");
            }

            result.Remove(start, end - start).Insert(start, replacement);
            limit = start;
        }

        return result.ToString();
    }
}
