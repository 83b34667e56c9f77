using System.Text;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// KeysFileLine.TryParse, the line reader of access_keys_file and keys_file (hand-edited, and rewritten by the key
/// lifecycle API). Properties: no exception escapes; a refusal has a message; allocation linear in the line; and what parses, formatted as the API
/// writes it, parses back to the same key (so an API rewrite of a line never changes what another field meant).
/// </summary>
internal static class KeysFileLineTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        var line = Encoding.UTF8.GetString(data);
        bool parsed = KeysFileLine.TryParse(line, out var key, out var error);

        // Measured on a second parse, past one-time culture and date-parsing setup. Split's parts and an error quoting one
        // field: linear in the line, whatever its shape.
        long before = GC.GetAllocatedBytesForCurrentThread();
        Check.That(KeysFileLine.TryParse(line, out _, out _) == parsed, "the same line parsed twice differs");
        Check.Allocated(before, 4096 + (32L * line.Length), "KeysFileLine.TryParse");
        if (!parsed)
        {
            Check.That(!string.IsNullOrWhiteSpace(error), "a refused line without a message");
            return;
        }

        var written = key.Format();
        Check.That(KeysFileLine.TryParse(written, out var again, out var againError), $"the formatted line does not parse: {written} ({againError})");
        Check.That(again.Id == key.Id && again.Hash.AsSpan().SequenceEqual(key.Hash) && again.State == key.State && again.Created == key.Created
            && again.Expires == key.Expires && again.ApprovedBy == key.ApprovedBy, $"the formatted line reads back differently: {line} -> {written}");
    }
}
