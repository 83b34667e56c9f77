namespace LoadBalancer.Tests.EndToEnd.Conformance;

/// <summary>
/// The response conformance table: backends are framed by the same strict rules as clients (RFC 9112 sections 4, 6.3).
/// A malformed head gets the client 502 and the backend connection is discarded, never reused.
/// </summary>
public static class ResponseCases
{
    public const string Malformed = "responses: malformed -> 502, backend connection discarded";
    public const string Interim = "responses: 1xx (100, 103) forwarded before the final response";
    public const string NoBody = "responses: HEAD, 204, 304 have no body";
    public const string CloseDelimited = "responses: close-delimited bodies";
    public const string Framed = "responses: Content-Length and chunked, kept alive";

    private const string Head = "HEAD / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n";

    private static ResponseCase Bad(string name, string response)
        => new(name, Malformed, response, ["502"], ClientClosed: true, BackendReused: false);

    /// <summary>The head was already forwarded when the body turned malformed: the client connection is cut.</summary>
    private static ResponseCase BadBody(string name, string response)
        => new(name, Malformed, response, ["truncated"], ClientClosed: true, BackendReused: false);

    private static ResponseCase Good(string name, string rule, string response, params string[] client)
        => new(name, rule, response, client, ClientClosed: false, BackendReused: true);

    public static IEnumerable<ResponseCase> All()
    {
        yield return Good("Content-Length", Framed, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "200 ok");
        yield return Good("chunked", Framed, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=1\r\nok\r\n0\r\nX-T: 1\r\n\r\n", "200 ok");
        yield return Good("equal Content-Length duplicates", Framed, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", "200 ok");
        yield return Good("equal Content-Length list, leading zeros", Framed, "HTTP/1.1 200 OK\r\nContent-Length: 02, 2\r\n\r\nok", "200 ok");
        yield return Good("status line without reason", Framed, "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", "200 ok");
        yield return new ResponseCase("Connection: close response: backend not reused, client kept", Framed,
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", ["200 ok"], ClientClosed: false, BackendReused: false);

        yield return Good("100 then 200", Interim, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "100", "200 ok");
        yield return Good("103 Early Hints then 200", Interim,
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "103", "200 ok");
        yield return Good("100, 103, then 200", Interim,
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "100", "103", "200 ok");
        yield return new ResponseCase("1xx not sent to an HTTP/1.0 client", Interim,
            "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ["200 ok"], ClientClosed: false,
            BackendReused: true, Request: "GET / HTTP/1.0\r\nHost: acme.example.com\r\nConnection: keep-alive\r\n\r\n");
        yield return Bad("interim response with malformed head", "HTTP/1.1 103 Early Hints\r\nLink : </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        yield return Good("204 with Content-Length has no body", NoBody, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "204");
        yield return Good("204 with chunked has no body", NoBody, "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", "204");
        yield return Good("304 with Content-Length has no body", NoBody, "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", "304");
        yield return new ResponseCase("HEAD with Content-Length has no body", NoBody, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", ["200 "],
            ClientClosed: false, BackendReused: true, Request: Head);
        yield return new ResponseCase("HEAD with chunked has no body", NoBody, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ["200 "],
            ClientClosed: false, BackendReused: true, Request: Head);

        yield return new ResponseCase("no framing: body until close", CloseDelimited, "HTTP/1.1 200 OK\r\n\r\nuntil the end", ["200 until the end"],
            ClientClosed: true, BackendReused: false, BackendCloses: true);
        yield return new ResponseCase("chunked to an HTTP/1.0 client: de-chunked, close-delimited, trailers dropped", CloseDelimited,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n2\r\nok\r\n3;e=1\r\n 10\r\n0\r\nX: y\r\n\r\n", ["200 ok 10"],
            ClientClosed: true, BackendReused: true, Request: "GET / HTTP/1.0\r\nHost: acme.example.com\r\nConnection: keep-alive\r\n\r\n");
        yield return new ResponseCase("HTTP/1.0 response without Content-Length", CloseDelimited, "HTTP/1.0 200 OK\r\n\r\nold style", ["200 old style"],
            ClientClosed: true, BackendReused: false, BackendCloses: true);
        yield return new ResponseCase("Transfer-Encoding not ending in chunked: body until close", CloseDelimited,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw bytes", ["200 raw bytes"], ClientClosed: true, BackendReused: false, BackendCloses: true);

        yield return Bad("Content-Length with Transfer-Encoding", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok");
        yield return Bad("Transfer-Encoding with Content-Length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n");
        yield return Bad("chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
        yield return Bad("Transfer-Encoding in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
        yield return Bad("differing Content-Length lines", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!");
        yield return Bad("differing Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok!");
        yield return Bad("Content-Length -1", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok");
        yield return Bad("Content-Length not digits", "HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\nok");
        yield return Bad("status code not digits", "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok");
        yield return Bad("status code below 100", "HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok");
        yield return Bad("status line two spaces", "HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\nok");
        yield return Bad("HTTP/2.0 status line", "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
        yield return Bad("not HTTP at all", "hello there\r\n\r\n");
        yield return Bad("obs-fold", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n c\r\n\r\nok");
        yield return Bad("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok");
        yield return Bad("NUL in value", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\0c\r\n\r\nok");
        yield return Bad("bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
        yield return Bad("bare CR", "HTTP/1.1 200 OK\r\nContent-Length: 2\rX: y\r\n\r\nok");
        yield return Bad("101 nobody asked for", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        yield return BadBody("chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n");
        yield return BadBody("no CRLF after chunk data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n");
    }
}
