namespace LoadBalancer.Tests.EndToEnd.ResponseSafety;

/// <summary>
/// The response-safety table (issue 11; RFC 9112 sections 6.3 and 9.3, RFC 9110 section 6.4.1): backend answers whose
/// end is in doubt. For every row lb relays at most the well-framed answer, closes that backend connection, and the
/// next requests (same client connection, a fresh one, another tenant on the same pool) get fresh answers.
/// </summary>
public static class ResponseSafetyCases
{
    public const string Certain = "1: reuse only when the response ended exactly at its framing";
    public const string NoBody = "2: HEAD, 1xx, 204, 304 end at the head";
    public const string Idle = "3, 6: bytes while idle are never relayed";
    public const string OwnAnswer = "4: lb's own 502 closes the backend connection";

    private const string Smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil";

    private static readonly string[] Extra = ["unread_bytes", "unsolicited_data"];
    private static readonly string[] Invalid = ["invalid_response"];

    public static IEnumerable<ResponseSafetyCase> All()
    {
        yield return new("HEAD answer followed by body bytes", NoBody,
            ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "hello"], ["200 "], ClientClosed: false, Extra, Method: "HEAD");
        yield return new("HEAD answer followed by a smuggled response", NoBody,
            ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", Smuggled], ["200 "], ClientClosed: false, Extra, Method: "HEAD");
        yield return new("204 with Content-Length followed by body bytes", NoBody,
            ["HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "hello"], ["204"], ClientClosed: false, Extra);
        yield return new("204 followed by a smuggled response", NoBody,
            ["HTTP/1.1 204 No Content\r\n\r\n", Smuggled], ["204"], ClientClosed: false, Extra);
        yield return new("304 with Content-Length followed by body bytes", NoBody,
            ["HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "hello"], ["304"], ClientClosed: false, Extra);
        yield return new("100 Continue followed by non-HTTP bytes", NoBody,
            ["HTTP/1.1 100 Continue\r\n\r\n", "abc\r\n\r\n"], ["100", "502"], ClientClosed: true, Invalid);

        yield return new("Content-Length body followed by garbage", Certain,
            ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "garbage"], ["200 ok"], ClientClosed: false, Extra);
        yield return new("Content-Length body followed by a smuggled response", Certain,
            ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", Smuggled], ["200 ok"], ClientClosed: false, Extra);
        yield return new("chunked body followed by a smuggled response", Certain,
            ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", Smuggled], ["200 ok"], ClientClosed: false, Extra);
        yield return new("Connection: close answer followed by a smuggled response", Certain,
            ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", Smuggled], ["200 ok"], ClientClosed: false, ["connection_close"]);

        yield return new("status line that is not HTTP", OwnAnswer,
            ["hello ", "there\r\n\r\n"], ["502"], ClientClosed: true, Invalid);
        yield return new("Content-Length that overflows", OwnAnswer,
            ["HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "ok"], ["502"], ClientClosed: true, Invalid);
        yield return new("101 nobody asked for, then bytes", OwnAnswer,
            ["HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "\u0081\u0004evil"], ["502"], ClientClosed: true, Invalid);
    }
}
