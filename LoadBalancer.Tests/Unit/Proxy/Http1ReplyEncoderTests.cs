using System.Text;
using System.Text.Json;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using NUnit.Framework;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.Unit.Proxy;

[TestFixture]
public sealed class Http1ReplyEncoderTests
{
    [Test]
    public void Constant_SameCauseAndForm_ReturnsTheSameBytesWithoutEncodingAgain()
    {
        var first = Http1ReplyEncoder.Constant(LocalReplies.RateLimited, json: false, close: false);
        var second = Http1ReplyEncoder.Constant(LocalReplies.RateLimited, json: false, close: false);

        Assert.Multiple(() =>
        {
            Assert.That(second.Equals(first), Is.True, "the cached array is handed out again");
            Assert.That(Encoding.ASCII.GetString(first.Span), Is.EqualTo(
                "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 59\r\nRetry-After: 1\r\n\r\n" +
                "429 Too Many Requests: the tenant's rate_limit is exceeded\n"));
        });
    }

    [Test]
    public void Write_EveryCauseAsJson_IsValidJsonWithCodeAndDetail()
    {
        foreach (var cause in typeof(LocalReplies).GetFields().Select(f => f.GetValue(null)).OfType<LocalReplyCause>())
        {
            var buffer = new byte[Http1ReplyEncoder.MaxLength];
            var length = Http1ReplyEncoder.Write(new LocalReply(cause, "a\"b\\c\u0001'd"u8), json: true, close: true, buffer);
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];

            using var document = JsonDocument.Parse(body);
            Assert.That(document.RootElement.GetProperty("error").GetString(), Is.EqualTo(cause.Code), cause.Code);
            Assert.That(document.RootElement.GetProperty("detail").GetString(), Is.EqualTo(cause.Detail + " 'a?b?c??d'"), cause.Code);
            Assert.That(text, Does.Contain($"Content-Length: {Encoding.ASCII.GetByteCount(body)}\r\n"), cause.Code);
        }
    }

    [Test]
    public void Write_Challenge_NamesSchemeAndHeader()
    {
        var buffer = new byte[Http1ReplyEncoder.MaxLength];
        var length = Http1ReplyEncoder.Write(new LocalReply(LocalReplies.MissingKey, default, "X-Api-Key"), json: false, close: false, buffer);

        Assert.That(Encoding.ASCII.GetString(buffer, 0, length), Does.Contain("\r\nWWW-Authenticate: ApiKey realm=\"lb\", header=\"X-Api-Key\"\r\n"));
    }
}
