namespace LoadBalancer.Fuzz.Reference;

/// <summary>The reference parser's answer for a request head: the verdict, the framing and the authority to route on.</summary>
internal readonly record struct ReferenceRequest(ReferenceVerdict Verdict, string Why, long ContentLength = -1, bool Chunked = false, string Authority = "")
{
    public static ReferenceRequest Reject(string why) => new(ReferenceVerdict.Reject, why);
}
