using System.Text;
using NUnit.Framework;
using LoadBalancer.Core.Http;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Http;

/// <summary>
/// Regression tests for what the LoadBalancer.Fuzz targets found in the head parser (issue 19). Each names the target
/// and the property; the input is the minimized libFuzzer finding.
/// </summary>
[TestFixture]
public sealed class HeadParserFuzzFindingsTests
{
    private static IEnumerable<TestCaseData> BareLineEndAfterAnotherError()
    {
        // http-request, "every split point gives the whole-input outcome": the version (505) or the field count (431)
        // was judged before the bare LF further on, which a client sending the first line alone got as 400.
        yield return new TestCaseData("GET / HTTP/2.0\r\nX: a\nb\r\n\r\n").SetArgDisplayNames("505 version, bare LF later");
        yield return new TestCaseData("GET / HTTP/2.0\r\nX: a\rb\r\n\r\n").SetArgDisplayNames("505 version, bare CR later");
        var many = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 100; i++)
        {
            many.Append("X: 1\r\n");
        }

        yield return new TestCaseData(many + "Y: a\nb\r\n\r\n").SetArgDisplayNames("431 field count, bare LF later");
    }

    [TestCaseSource(nameof(BareLineEndAfterAnotherError))]
    public void TryParseRequest_BareLineEndAfterAnotherError_Is400AtEverySplit(string request)
    {
        var whole = new HttpHeadRunner(request);
        Assert.That(whole.Head.ErrorStatus, Is.EqualTo(400), whole.Describe());
        for (int k = 0; k < request.Length; k++)
        {
            var prefix = new HttpHeadRunner(request[..k]);
            if (prefix.Status != HeadParseStatus.Incomplete)
            {
                Assert.That(prefix.Head.ErrorStatus, Is.EqualTo(whole.Head.ErrorStatus), $"split at {k}: {prefix.Describe()}");
            }
        }
    }
}
