using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Fuzz.Reference;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// Differential: Http1HeadParser.TryParseRequest against <see cref="ReferenceRequestParser"/> on the same bytes. Any
/// disagreement on accept vs reject, Content-Length, chunked or the authority lb routes on is a finding: two parsers
/// that frame one request differently is what request smuggling is made of.
/// </summary>
internal static class RequestDifferentialTarget
{
    private static readonly HeaderLine[] Headers = new HeaderLine[256];

    public static void Run(ReadOnlySpan<byte> data)
    {
        var head = default(HttpMessageHead);
        var status = Http1HeadParser.TryParseRequest(data, HttpLimits.Default, ref head, Headers);
        var reference = ReferenceRequestParser.Parse(data);
        switch (reference.Verdict)
        {
            case ReferenceVerdict.NoHead:
                Check.That(status != HeadParseStatus.Complete, $"lb accepts {Check.Show(data)} but the reference finds no end of head");
                return;
            case ReferenceVerdict.Reject:
                Check.That(status == HeadParseStatus.Invalid,
                    $"lb says {HeadFacts.Describe(status, head)}, the reference rejects ({reference.Why}): {Check.Show(data)}");
                return;
        }

        Check.That(status == HeadParseStatus.Complete, $"lb says {HeadFacts.Describe(status, head)}, the reference accepts: {Check.Show(data)}");
        string authority = Encoding.Latin1.GetString(data.Slice(head.AuthorityStart, head.AuthorityLength));
        Check.That(head.ContentLength == reference.ContentLength && head.Chunked == reference.Chunked && authority == reference.Authority,
            $"lb: cl={head.ContentLength} chunked={head.Chunked} authority='{authority}'; reference: cl={reference.ContentLength} chunked={reference.Chunked} authority='{reference.Authority}': {Check.Show(data)}");
    }
}
