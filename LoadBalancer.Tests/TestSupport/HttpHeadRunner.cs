using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>Runs the head parser on test strings (Latin-1, so "\x80" stays one byte) and reads results back as strings.</summary>
internal sealed class HttpHeadRunner
{
    public HttpHeadRunner(string text, HttpLimits? limits = null, bool response = false)
        : this(Encoding.Latin1.GetBytes(text), limits, response)
    {
    }

    public HttpHeadRunner(byte[] data, HttpLimits? limits = null, bool response = false)
    {
        Data = data;
        Limits = limits ?? HttpLimits.Default;
        Headers = new HeaderLine[Math.Max(Limits.MaxHeaders, 1)];
        HttpMessageHead head = default;
        Status = response
            ? Http1HeadParser.TryParseResponse(data, Limits, ref head, Headers)
            : Http1HeadParser.TryParseRequest(data, Limits, ref head, Headers);
        Head = head;
    }

    public byte[] Data { get; }

    public HttpLimits Limits { get; }

    public HeaderLine[] Headers { get; }

    public HeadParseStatus Status { get; }

    public HttpMessageHead Head { get; }

    public string Method => Text(Head.MethodStart, Head.MethodLength);

    public string Target => Text(Head.TargetStart, Head.TargetLength);

    public string Authority => Text(Head.AuthorityStart, Head.AuthorityLength);

    public string Name(int i) => Text(Headers[i].NameStart, Headers[i].NameLength);

    public string Value(int i) => Text(Headers[i].ValueStart, Headers[i].ValueLength);

    public string Line(int i) => Text(Headers[i].LineStart, Headers[i].LineLength);

    public string Describe() => $"{Status} {Head.ErrorStatus} {Head.ErrorReason}";

    private string Text(int start, int length) => Encoding.Latin1.GetString(Data, start, length);

    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);
}
