using System.Text;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Http2.Upstream;

namespace LoadBalancer.Tests.Unit.Http2;

/// <summary>
/// The http2-response fuzz target's findings (issue 19): an h2 backend's fields that the translator let into the HTTP/1
/// head, which lb's own parser then refused. The fixes (02f25e1, ecfdb2a) landed with their inputs in the corpus only;
/// these are their regression tests, on the fuzzer's exact inputs and on readable field lists.
/// </summary>
[TestFixture]
public sealed class Http2ResponseTranslatorFuzzFindingsTests
{
    private static (int Length, string Reason) Translate(byte[] block)
    {
        var decoded = new byte[8192];
        var fields = new HpackField[64];
        Assert.That(new HpackDecoder(4096, decoded.Length, fields.Length).Decode(block, decoded, fields, out var count), Is.EqualTo(HpackStatus.Ok));
        var head = new byte[Http2ResponseTranslator.MaxLength(decoded.Length, fields.Length)];
        var length = Http2ResponseTranslator.TranslateHead(decoded, fields.AsSpan(0, count), endStream: false, emptyBodyLength: false, head, out _, out _, out var reason);
        return (length, reason);
    }

    private static byte[] Block(params string[] nameValues)
    {
        var block = new byte[4096];
        var written = 0;
        for (var i = 0; i < nameValues.Length; i += 2)
        {
            written += HpackEncoder.Encode(Encoding.Latin1.GetBytes(nameValues[i]), Encoding.Latin1.GetBytes(nameValues[i + 1]), neverIndexed: false, block.AsSpan(written));
        }

        return block[..written];
    }

    [TestCase("88 0084f2b4639310 61ffff 7819 696e6a65637465643a2031", Description = "fuzz input 2c590536: a value with a control byte 0x19")]
    [TestCase("88 0f1087497ca58ae819aa 0f0d017a", Description = "fuzz input b6850c50: content-length 'z'")]
    [TestCase("08 827801", Description = "fuzz input e36dde30 (CI smoke): :status 801, which no HTTP/1 parser takes (100-599)")]
    public void TranslateHead_FuzzInput_IsRefused(string hex)
    {
        var (length, reason) = Translate(Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal)));
        Assert.That(length, Is.EqualTo(-1), reason);
        Assert.That(reason, Is.AnyOf("invalid_field_value", "invalid_content_length", "invalid_status"));
    }

    [TestCase("a\u0001b")]
    [TestCase("a\u001fb")]
    [TestCase("a\u007fb")]
    public void TranslateHead_ValueWithControlByte_IsInvalidFieldValue(string value) =>
        Assert.That(Translate(Block(":status", "200", "x-a", value)), Is.EqualTo((-1, "invalid_field_value")));

    [Test]
    public void TranslateHead_ValueWithInnerTab_IsKept() =>
        Assert.That(Translate(Block(":status", "200", "x-a", "a\tb")).Length, Is.GreaterThan(0));

    [TestCase("z")]
    [TestCase("")]
    [TestCase("+5")]
    [TestCase("0x5")]
    [TestCase("1234567890123456789")]
    public void TranslateHead_ContentLengthNotOneDecimal_IsInvalid(string value) =>
        Assert.That(Translate(Block(":status", "200", "content-length", value)), Is.EqualTo((-1, "invalid_content_length")));

    [Test]
    public void TranslateHead_ContentLengthRepeatsDisagree_IsInvalid() =>
        Assert.That(Translate(Block(":status", "200", "content-length", "5", "content-length", "6")), Is.EqualTo((-1, "invalid_content_length")));

    [Test]
    public void TranslateHead_ContentLengthRepeatsAgree_IsKept() =>
        Assert.That(Translate(Block(":status", "200", "content-length", "5", "content-length", "5")).Length, Is.GreaterThan(0));
}
