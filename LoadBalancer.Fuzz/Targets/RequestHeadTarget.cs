using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// Http1HeadParser.TryParseRequest. Properties: the structure of a Complete head holds (offsets in range, CRLF line
/// ends, framing values usable); parsing allocates nothing; every split point gives the whole-input outcome (so every
/// proper prefix of a valid head is Incomplete, never Invalid); tighter limits never turn a reject into an accept;
/// and the head lb forwards (Http1HeadWriter) parses again to the same method, authority and framing.
/// </summary>
internal static class RequestHeadTarget
{
    private static readonly HttpLimits Small = new() { MaxHeadBytes = 256, MaxHeaders = 4 };
    private static readonly HeaderLine[] Headers = new HeaderLine[256];
    private static readonly HeaderLine[] Scratch = new HeaderLine[256];
    private static readonly byte[] Forwarded = new byte[256 * 1024];

    public static void Run(ReadOnlySpan<byte> data)
    {
        var head = default(HttpMessageHead);
        var status = Http1HeadParser.TryParseRequest(data, HttpLimits.Default, ref head, Headers);
        HeadFacts.Structure(data, status, head, Headers, HttpLimits.Default, request: true);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var again = default(HttpMessageHead);
        var againStatus = Http1HeadParser.TryParseRequest(data, HttpLimits.Default, ref again, Scratch);
        Check.Allocated(before, 0, "TryParseRequest");
        Check.That(HeadFacts.Same(status, head, againStatus, again), "the same input parsed twice differs");

        foreach (int k in HeadFacts.SplitPoints(data.Length))
        {
            var part = default(HttpMessageHead);
            var partStatus = Http1HeadParser.TryParseRequest(data[..k], HttpLimits.Default, ref part, Scratch);
            Check.That(partStatus == HeadParseStatus.Incomplete || HeadFacts.Same(partStatus, part, status, head),
                $"split at {k}: prefix gives {HeadFacts.Describe(partStatus, part)}, whole input {HeadFacts.Describe(status, head)}");
        }

        var small = default(HttpMessageHead);
        var smallStatus = Http1HeadParser.TryParseRequest(data, Small, ref small, Scratch);
        HeadFacts.Structure(data, smallStatus, small, Scratch, Small, request: true);
        Check.That(smallStatus != HeadParseStatus.Complete || HeadFacts.Same(smallStatus, small, status, head),
            $"accepted under small limits as {HeadFacts.Describe(smallStatus, small)} but {HeadFacts.Describe(status, head)} under the defaults");

        if (status == HeadParseStatus.Complete)
        {
            Reencode(data, head);
        }
    }

    /// <summary>The backend must frame and route the forwarded head exactly as lb did (no smuggling through rewriting).</summary>
    private static void Reencode(ReadOnlySpan<byte> data, in HttpMessageHead head)
    {
        ReadOnlySpan<byte> clientIp = "203.0.113.7"u8;
        int capacity = head.HeadLength + (2 * head.AuthorityLength) + clientIp.Length + Http1HeadWriter.MaxRequestGrowth;
        int written = Http1HeadWriter.WriteRequest(data, head, Headers, UpgradeOffer.None, addForwarded: true, trustForwarded: false, clientIp, Forwarded.AsSpan(0, capacity));
        ReadOnlySpan<byte> forwarded = Forwarded.AsSpan(0, written);
        var limits = new HttpLimits { MaxHeadBytes = capacity, MaxHeaders = Scratch.Length };
        var back = default(HttpMessageHead);
        var status = Http1HeadParser.TryParseRequest(forwarded, limits, ref back, Scratch);
        Check.That(status == HeadParseStatus.Complete && back.HeadLength == written,
            $"forwarded head {Check.Show(forwarded)} parses as {HeadFacts.Describe(status, back)}");
        Check.That(forwarded.Slice(back.MethodStart, back.MethodLength).SequenceEqual(data.Slice(head.MethodStart, head.MethodLength)), "forwarded method differs");
        Check.That(forwarded.Slice(back.AuthorityStart, back.AuthorityLength).SequenceEqual(data.Slice(head.AuthorityStart, head.AuthorityLength)),
            $"forwarded authority differs: {Check.Show(forwarded)}");
        Check.That(back.ContentLength == head.ContentLength && back.Chunked == head.Chunked,
            $"forwarded framing differs: {HeadFacts.Describe(status, back)} vs {HeadFacts.Describe(HeadParseStatus.Complete, head)}");
        Check.That(!back.AbsoluteForm, "forwarded head is still absolute-form");
    }
}
