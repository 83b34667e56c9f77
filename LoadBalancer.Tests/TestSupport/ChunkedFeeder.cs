using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>Feeds a body to a fresh <see cref="ChunkedDecoder"/> in given segment sizes, the way a read loop would.</summary>
internal static class ChunkedFeeder
{
    /// <summary>Status at the first non-NeedMore result (or NeedMore at the end) and the total consumed until then.</summary>
    public static (ChunkedStatus Status, long Consumed) Feed(ReadOnlySpan<byte> body, ReadOnlySpan<int> segments)
    {
        var decoder = default(ChunkedDecoder);
        long total = 0;
        int pos = 0;
        foreach (int size in segments)
        {
            int take = Math.Min(size, body.Length - pos);
            ChunkedStatus status = decoder.Advance(body.Slice(pos, take), out int consumed);
            if ((uint)consumed > (uint)take)
            {
                throw new InvalidOperationException($"consumed {consumed} of {take}");
            }

            total += consumed;
            if (status != ChunkedStatus.NeedMore)
            {
                return (status, total);
            }

            if (consumed != take)
            {
                throw new InvalidOperationException($"NeedMore consumed {consumed} of {take}");
            }

            pos += take;
        }

        // The rest in one go, so every caller sees the final outcome.
        ChunkedStatus last = decoder.Advance(body[pos..], out int rest);
        return (last, total + rest);
    }

    public static (ChunkedStatus Status, long Consumed) FeedWhole(ReadOnlySpan<byte> body) => Feed(body, []);

    public static int[] RandomSegments(Random random, int length, int maxSegment)
    {
        var sizes = new List<int>();
        int sum = 0;
        while (sum < length)
        {
            int size = random.Next(1, maxSegment + 1);
            sizes.Add(size);
            sum += size;
        }

        return sizes.ToArray();
    }
}
