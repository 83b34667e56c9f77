using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// Http1HeadParser.TryParseResponse: the request target's properties, with Http1HeadWriter.WriteResponse as the encoder
/// (the head the client gets must carry the same status and framing).
/// </summary>
internal static class ResponseHeadTarget
{
    private static readonly HttpLimits Small = new() { MaxHeadBytes = 256, MaxHeaders = 4 };
    private static readonly HeaderLine[] Headers = new HeaderLine[256];
    private static readonly HeaderLine[] Scratch = new HeaderLine[256];
    private static readonly byte[] Forwarded = new byte[256 * 1024];

    public static void Run(ReadOnlySpan<byte> data)
    {
        var head = default(HttpMessageHead);
        var status = Http1HeadParser.TryParseResponse(data, HttpLimits.Default, ref head, Headers);
        HeadFacts.Structure(data, status, head, Headers, HttpLimits.Default, request: false);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var again = default(HttpMessageHead);
        var againStatus = Http1HeadParser.TryParseResponse(data, HttpLimits.Default, ref again, Scratch);
        Check.Allocated(before, 0, "TryParseResponse");
        Check.That(HeadFacts.Same(status, head, againStatus, again), "the same input parsed twice differs");

        foreach (int k in HeadFacts.SplitPoints(data.Length))
        {
            var part = default(HttpMessageHead);
            var partStatus = Http1HeadParser.TryParseResponse(data[..k], HttpLimits.Default, ref part, Scratch);
            Check.That(partStatus == HeadParseStatus.Incomplete || HeadFacts.Same(partStatus, part, status, head),
                $"split at {k}: prefix gives {HeadFacts.Describe(partStatus, part)}, whole input {HeadFacts.Describe(status, head)}");
        }

        var small = default(HttpMessageHead);
        var smallStatus = Http1HeadParser.TryParseResponse(data, Small, ref small, Scratch);
        Check.That(smallStatus != HeadParseStatus.Complete || HeadFacts.Same(smallStatus, small, status, head),
            $"accepted under small limits as {HeadFacts.Describe(smallStatus, small)} but {HeadFacts.Describe(status, head)} under the defaults");

        if (status == HeadParseStatus.Complete && head.StatusCode >= 200)
        {
            Reencode(data, head);
        }
    }

    private static void Reencode(ReadOnlySpan<byte> data, in HttpMessageHead head)
    {
        int written = Http1HeadWriter.WriteResponse(data, head, Headers, closeClient: false, clientIsHttp10: false, Forwarded);
        ReadOnlySpan<byte> forwarded = Forwarded.AsSpan(0, written);
        var limits = new HttpLimits { MaxHeadBytes = Forwarded.Length, MaxHeaders = Scratch.Length };
        var back = default(HttpMessageHead);
        var status = Http1HeadParser.TryParseResponse(forwarded, limits, ref back, Scratch);
        Check.That(status == HeadParseStatus.Complete && back.HeadLength == written,
            $"forwarded head {Check.Show(forwarded)} parses as {HeadFacts.Describe(status, back)}");
        Check.That(back.StatusCode == head.StatusCode && back.Chunked == head.Chunked && back.ContentLength == head.ContentLength,
            $"forwarded response framing differs: {HeadFacts.Describe(status, back)} vs {HeadFacts.Describe(HeadParseStatus.Complete, head)}");
    }
}
