using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.Unit.Proxy;

[TestFixture]
public sealed class HeadWriterSkipTests
{
    [Test]
    public void WriteRequest_SkipHeader_DropsOnlyThatLine()
    {
        var source = "GET /x HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer secret\r\nX-Keep: 1\r\n\r\n"u8.ToArray();
        var head = default(HttpMessageHead);
        var headers = new HeaderLine[10];
        Assert.That(Http1HeadParser.TryParseRequest(source, HttpLimits.Default, ref head, headers), Is.EqualTo(HeadParseStatus.Complete));
        var output = new byte[1024];

        var written = Http1HeadWriter.WriteRequest(source, head, headers, UpgradeOffer.None, addForwarded: false, trustForwarded: false, "127.0.0.1"u8, output, new HeaderEdits(1, transform: null));
        var unchanged = Http1HeadWriter.WriteRequest(source, head, headers, UpgradeOffer.None, addForwarded: false, trustForwarded: false, "127.0.0.1"u8, output.AsSpan(512));

        Assert.That(Encoding.ASCII.GetString(output, 0, written), Is.EqualTo("GET /x HTTP/1.1\r\nHost: a.example\r\nX-Keep: 1\r\n\r\n"));
        Assert.That(Encoding.ASCII.GetString(output, 512, unchanged), Does.Contain("Authorization: Bearer secret\r\n"));
    }
}
