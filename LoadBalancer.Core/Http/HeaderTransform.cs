using System.Text;

namespace LoadBalancer.Core.Http;

/// <summary>
/// An operator's edits to a message's header fields, compiled once per snapshot (a route's or tenant's
/// <c>request_headers</c>/<c>response_headers</c>): fields to remove, fields to set (every field of that name replaced
/// by one), fields to add. Names and values are bytes owned by the snapshot, so applying it allocates nothing; the
/// codec applies it as it encodes (<see cref="HeaderEdits"/>), for whichever protocol is on the other side.
/// </summary>
public sealed class HeaderTransform
{
    private HeaderTransform(byte[][] removed, (byte[] Name, byte[] Value)[] added, int addedBytes)
    {
        Removed = removed;
        Added = added;
        AddedBytes = addedBytes;
    }

    /// <summary>Names whose fields are dropped: the removed ones and the set ones (their new value is in <see cref="Added"/>).</summary>
    public byte[][] Removed { get; }

    /// <summary>Fields written after the message's own: the set ones first, then the added ones, in configuration order.</summary>
    public (byte[] Name, byte[] Value)[] Added { get; }

    /// <summary>The most the encoded head grows by (name, ": ", value, CRLF for every added field).</summary>
    public int AddedBytes { get; }

    /// <summary>
    /// Compiles the three lists. The caller has validated names as tokens and values as field values (no CR, LF or
    /// NUL), which is what keeps a transform from splitting a head.
    /// </summary>
    public static HeaderTransform Create(
        IReadOnlyList<KeyValuePair<string, string>> set,
        IReadOnlyList<KeyValuePair<string, string>> add,
        IReadOnlyList<string> remove)
    {
        var removed = new byte[remove.Count + set.Count][];
        for (var i = 0; i < remove.Count; i++)
        {
            removed[i] = Encoding.ASCII.GetBytes(remove[i]);
        }

        var added = new (byte[], byte[])[set.Count + add.Count];
        var bytes = 0;
        for (var i = 0; i < set.Count; i++)
        {
            removed[remove.Count + i] = Encoding.ASCII.GetBytes(set[i].Key);
            added[i] = (Encoding.ASCII.GetBytes(set[i].Key), Encoding.Latin1.GetBytes(set[i].Value));
        }

        for (var i = 0; i < add.Count; i++)
        {
            added[set.Count + i] = (Encoding.ASCII.GetBytes(add[i].Key), Encoding.Latin1.GetBytes(add[i].Value));
        }

        foreach (var (name, value) in added)
        {
            bytes += name.Length + value.Length + 4;
        }

        return new HeaderTransform(removed, added, bytes);
    }

    /// <summary>True when a field named <paramref name="name"/> is dropped by this transform (names compare case-insensitively).</summary>
    public bool Removes(ReadOnlySpan<byte> name)
    {
        foreach (var removed in Removed)
        {
            if (removed.Length == name.Length && Ascii.EqualsIgnoreCase(removed, name))
            {
                return true;
            }
        }

        return false;
    }
}
