namespace LoadBalancer.Tests.EndToEnd.Conformance;

/// <summary>
/// The request conformance table (issue 3, "Framing and parsing"). Backend A serves acme.example.com, backend B
/// serves beta.example.com; every row states exactly what each received, so a row that splits one request into two
/// or routes bytes to the other tenant fails. Expected forwarded heads include lb's own X-Forwarded-* fields.
/// </summary>
public static class RequestCases
{
    public const string HostA = "acme.example.com";
    public const string HostB = "beta.example.com";

    // Rule ids, as listed in docs/conformance.md.
    public const string ClTe = "framing: Content-Length with Transfer-Encoding";
    public const string TeOnlyChunked = "framing: Transfer-Encoding other than a final chunked";
    public const string ContentLength = "framing: Content-Length values";
    public const string ChunkSize = "framing: chunk sizes, extensions, CRLF after data";
    public const string BareCr = "lines: bare CR";
    public const string BareLf = "lines: bare LF";
    public const string ObsFold = "lines: obs-fold";
    public const string ColonSpace = "lines: whitespace before colon";
    public const string Controls = "lines: NUL, CR, LF in names or values";
    public const string RequestLine = "request-line oddities";
    public const string Version = "versions: HTTP/2 preface, unsupported versions (505)";
    public const string Host = "Host: exactly one, valid, no userinfo";
    public const string Absolute = "Host: absolute-form decides the authority";
    public const string Pipelining = "pipelining: in order, each routed by its own Host";
    public const string Http10 = "HTTP/1.0 and Connection: close";
    public const string HopByHop = "hop-by-hop and X-Forwarded-*";
    public const string Expect = "Expect: 100-continue";
    public const string Limits = "limits: head size (431), request line (414), header count (431)";

    private const string GetA = "GET / HTTP/1.1\r\nHost: acme.example.com\r\n";
    private const string GetB = "GET / HTTP/1.1\r\nHost: beta.example.com\r\n";
    private const string PostA = "POST /p HTTP/1.1\r\nHost: acme.example.com\r\n";
    private const string PostB = "POST /p HTTP/1.1\r\nHost: beta.example.com\r\n";
    private const string ChunkedA = PostA + "Transfer-Encoding: chunked\r\n";
    private const string Hello = "5\r\nhello\r\n0\r\n\r\n";

    private static readonly string[] Ok200A = ["200 a"];

    /// <summary>lb's own X-Forwarded-* fields and the empty line, as appended to every forwarded head.</summary>
    public static string Fwd(string host) => $"X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: {host}\r\n\r\n";

    /// <summary>What a client sends: head lines (each ending in CRLF), the empty line, the body.</summary>
    private static string Sent(string head, string body = "") => head + "\r\n" + body;

    /// <summary>What a backend receives for a head forwarded unchanged: the same lines, lb's fields, the body.</summary>
    private static string Got(string head, string host, string body = "") => head + Fwd(host) + body;

    private static string Chunk(string data) => $"{data.Length:x}\r\n{data}\r\n";

    private static RequestCase Ok(string name, string rule, string request, string toA, string toB = "", params string[] responses)
        => new(name, rule, request, responses.Length == 0 ? Ok200A : responses, Closed: false, toA, toB);

    /// <summary>lb answers <paramref name="status"/> itself, closes, and no backend sees a byte.</summary>
    private static RequestCase Refused(string name, string rule, string request, int status = 400)
        => new(name, rule, request, [status.ToString(System.Globalization.CultureInfo.InvariantCulture)], Closed: true);

    /// <summary>A chunked body that turns bad after <paramref name="validPrefix"/>: head forwarded, body cut there, 400, close.</summary>
    private static RequestCase BadChunks(string name, string body, string validPrefix)
        => new(name, ChunkSize, Sent(ChunkedA, body), ["400"], Closed: true, ToA: Got(ChunkedA, HostA), ToAAtMost: Got(ChunkedA, HostA, validPrefix));

    public static IEnumerable<RequestCase> All()
    {
        // Valid framing, forwarded byte for byte (apart from the hop-by-hop and X-Forwarded-* rules).
        yield return Ok("GET origin-form", Pipelining, Sent(GetA), Got(GetA, HostA));
        yield return Ok("POST Content-Length", ContentLength, Sent(PostA + "Content-Length: 5\r\n", "hello"), Got(PostA + "Content-Length: 5\r\n", HostA, "hello"));
        yield return Ok("POST Content-Length 0", ContentLength, Sent(PostA + "Content-Length: 0\r\n"), Got(PostA + "Content-Length: 0\r\n", HostA));
        yield return Ok("POST chunked", TeOnlyChunked, Sent(ChunkedA, Hello), Got(ChunkedA, HostA, Hello));
        yield return Ok("chunk extension", ChunkSize, Sent(ChunkedA, "5;ext=1\r\nhello\r\n0\r\n\r\n"), Got(ChunkedA, HostA, "5;ext=1\r\nhello\r\n0\r\n\r\n"));
        yield return Ok("chunk extension after BWS", ChunkSize, Sent(ChunkedA, "5 ;ext\r\nhello\r\n0 ; last\r\n\r\n"), Got(ChunkedA, HostA, "5 ;ext\r\nhello\r\n0 ; last\r\n\r\n"));
        yield return Ok("chunk extension quoted, several", ChunkSize, Sent(ChunkedA, "5\t;a=\"q \\\" v\";b\r\nhello\r\n0\r\n\r\n"), Got(ChunkedA, HostA, "5\t;a=\"q \\\" v\";b\r\nhello\r\n0\r\n\r\n"));
        yield return Ok("chunk sizes upper-case hex, leading zeros", ChunkSize, Sent(ChunkedA, "A\r\n0123456789\r\n005\r\nhello\r\n000\r\n\r\n"), Got(ChunkedA, HostA, "A\r\n0123456789\r\n005\r\nhello\r\n000\r\n\r\n"));
        yield return Ok("chunked trailer fields", ChunkSize, Sent(ChunkedA, "5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-More: two\r\n\r\n"), Got(ChunkedA, HostA, "5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-More: two\r\n\r\n"));
        var inner = Sent(GetB);
        yield return Ok("request for B inside chunk data stays A's body", Pipelining, Sent(ChunkedA, Chunk(inner) + "0\r\n\r\n"), Got(ChunkedA, HostA, Chunk(inner) + "0\r\n\r\n"));
        yield return Ok("request for B inside Content-Length body stays A's body", Pipelining, Sent(PostA + $"Content-Length: {inner.Length}\r\n", inner), Got(PostA + $"Content-Length: {inner.Length}\r\n", HostA, inner));

        // Equal Content-Length values are one length (RFC 9112 section 6.3 rule 5); lb forwards a single canonical field.
        yield return Ok("CL duplicated on two lines, equal", ContentLength, Sent(PostA + "Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), Got(PostA + "Content-Length: 5\r\n", HostA, "hello"));
        yield return Ok("CL list of equal values", ContentLength, Sent(PostA + "Content-Length: 5, 5\r\n", "hello"), Got(PostA + "Content-Length: 5\r\n", HostA, "hello"));
        yield return Ok("CL leading zeros", ContentLength, Sent(PostA + "Content-Length: 005\r\n", "hello"), Got(PostA + "Content-Length: 5\r\n", HostA, "hello"));
        yield return Ok("CL tab OWS", ContentLength, Sent(PostA + "content-length:\t5\t\r\n", "hello"), Got(PostA + "Content-Length: 5\r\n", HostA, "hello"));
        yield return Ok("CL shorter than data: the rest is the next request", Pipelining,
            Sent(PostA + "Content-Length: 3\r\n", "hel") + Sent(GetB),
            Got(PostA + "Content-Length: 3\r\n", HostA, "hel"), Got(GetB, HostB), "200 a", "200 b");

        // Transfer-Encoding spellings that mean exactly "chunked": accepted, and forwarded as one canonical field so a
        // laxer backend cannot read them differently.
        yield return Ok("TE Chunked mixed case", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: Chunked\r\n", Hello), Got(ChunkedA, HostA, Hello));
        yield return Ok("TE tab before chunked", TeOnlyChunked, Sent(PostA + "Transfer-Encoding:\tchunked\r\n", Hello), Got(ChunkedA, HostA, Hello));
        yield return Ok("TE spaces around chunked", TeOnlyChunked, Sent(PostA + "Transfer-Encoding:   chunked  \r\n", Hello), Got(ChunkedA, HostA, Hello));
        yield return Ok("TE no space", TeOnlyChunked, Sent(PostA + "transfer-encoding:chunked\r\n", Hello), Got(ChunkedA, HostA, Hello));
        yield return Ok("TE empty list elements", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: , chunked ,\r\n", Hello), Got(ChunkedA, HostA, Hello));
        yield return Ok("TE empty line then chunked", TeOnlyChunked, Sent(PostA + "Transfer-Encoding:\r\nX-Mid: 1\r\nTransfer-Encoding: chunked\r\n", Hello), Got(ChunkedA + "X-Mid: 1\r\n", HostA, Hello));

        // Transfer_Encoding is another field name (RFC 9110 section 5.1 tokens): no framing meaning, forwarded as is.
        yield return new RequestCase("Transfer_Encoding is not Transfer-Encoding: its chunked body is the next request", TeOnlyChunked,
            Sent(PostA + "Transfer_Encoding: chunked\r\n", Hello), ["200 a", "400"], Closed: true, ToA: Got(PostA + "Transfer_Encoding: chunked\r\n", HostA));

        // CL.TE and TE.CL: both framings present is refused before anything is forwarded.
        var smuggled = Sent("GET /admin HTTP/1.1\r\nHost: beta.example.com\r\n");
        yield return Refused("CL.TE", ClTe, Sent(PostA + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + smuggled));
        yield return Refused("TE.CL", ClTe, Sent(PostA + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", Chunk(smuggled) + "0\r\n\r\n"));
        yield return Refused("TE.CL with CL 0", ClTe, Sent(PostA + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", Hello));
        yield return Refused("CL with TE identity", ClTe, Sent(PostA + "Content-Length: 5\r\nTransfer-Encoding: identity\r\n", "hello"));
        yield return Refused("CL with TE xchunked", ClTe, Sent(PostA + "Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n", "hello"));
        yield return Refused("CL with tab-obfuscated TE", ClTe, Sent(PostA + "Content-Length: 5\r\nTransfer-Encoding:\tchunked\r\n", "hello"));
        yield return Refused("CL with empty TE", ClTe, Sent(PostA + "Transfer-Encoding:\r\nContent-Length: 5\r\n", "hello"));
        yield return Refused("CL list with TE", ClTe, Sent(PostA + "Transfer-Encoding: chunked\r\nContent-Length: 5, 5\r\n", Hello));

        // TE.TE: every other spelling is refused (400, or 501 for a well-formed but unknown coding).
        yield return Refused("TE xchunked", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: xchunked\r\n", Hello), 501);
        yield return Refused("TE chunk", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: chunk\r\n", Hello), 501);
        yield return Refused("TE chunked, identity", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: chunked, identity\r\n", Hello));
        yield return Refused("TE identity, chunked", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: identity, chunked\r\n", Hello), 501);
        yield return Refused("TE gzip, chunked", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: gzip, chunked\r\n", Hello), 501);
        yield return Refused("TE chunked then gzip on two lines", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", Hello));
        yield return Refused("TE chunked, chunked", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: chunked, chunked\r\n", Hello));
        yield return Refused("TE duplicated header", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", Hello));
        yield return Refused("TE space before colon", TeOnlyChunked, Sent(PostA + "Transfer-Encoding : chunked\r\n", Hello));
        yield return Refused("TE tab before colon", TeOnlyChunked, Sent(PostA + "Transfer-Encoding\t: chunked\r\n", Hello));
        yield return Refused("TE vertical tab", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: \u000bchunked\r\n", Hello));
        yield return Refused("TE form feed", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: chunked\u000c\r\n", Hello));
        yield return Refused("TE NUL", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: chunked\0\r\n", Hello));
        yield return Refused("TE folded value", TeOnlyChunked, Sent(PostA + "Transfer-Encoding:\r\n chunked\r\n", Hello));
        yield return Refused("TE folded into previous field", TeOnlyChunked, Sent(PostA + "X-A: b\r\n Transfer-Encoding: chunked\r\n", Hello));
        yield return Refused("TE quoted", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: \"chunked\"\r\n", Hello));
        yield return Refused("TE chunked with parameter", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: chunked;q=1\r\n", Hello));
        yield return Refused("TE inner space", TeOnlyChunked, Sent(PostA + "Transfer-Encoding: ch unked\r\n", Hello));
        yield return Refused("TE empty", TeOnlyChunked, Sent(PostA + "Transfer-Encoding:\r\n", Hello));
        yield return Refused("TE in HTTP/1.0", Http10, Sent("POST /p HTTP/1.0\r\nHost: acme.example.com\r\nTransfer-Encoding: chunked\r\n", Hello));

        // Content-Length: plain digits only, equal values only, no overflow.
        yield return Refused("CL +5", ContentLength, Sent(PostA + "Content-Length: +5\r\n", "hello"));
        yield return Refused("CL -1", ContentLength, Sent(PostA + "Content-Length: -1\r\n", "hello"));
        yield return Refused("CL 0x5", ContentLength, Sent(PostA + "Content-Length: 0x5\r\n", "hello"));
        yield return Refused("CL ' 5 5'", ContentLength, Sent(PostA + "Content-Length:  5 5\r\n", "hello"));
        yield return Refused("CL 5.0", ContentLength, Sent(PostA + "Content-Length: 5.0\r\n", "hello"));
        yield return Refused("CL 1e1", ContentLength, Sent(PostA + "Content-Length: 1e1\r\n", "helloworld"));
        yield return Refused("CL empty", ContentLength, Sent(PostA + "Content-Length:\r\n", "hello"));
        yield return Refused("CL trailing comma", ContentLength, Sent(PostA + "Content-Length: 5,\r\n", "hello"));
        yield return Refused("CL overflow", ContentLength, Sent(PostA + "Content-Length: 99999999999999999999\r\n", "hello"));
        yield return Refused("CL long.MaxValue + 1", ContentLength, Sent(PostA + "Content-Length: 9223372036854775808\r\n", "hello"));
        yield return Refused("CL differing lines", ContentLength, Sent(PostA + "Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"));
        yield return Refused("CL differing list", ContentLength, Sent(PostA + "Content-Length: 5, 6\r\n", "hello!"));
        yield return Refused("CL differing, smuggling a request", ContentLength, Sent(PostA + $"Content-Length: 0\r\nContent-Length: {smuggled.Length}\r\n", smuggled));
        yield return Refused("CL space before colon", ContentLength, Sent(PostA + "Content-Length : 5\r\n", "hello"));

        // Chunked bodies that turn malformed: the head already went out, the bad byte never does; 400 and close.
        yield return BadChunks("chunk size 0x5", "0x5\r\nhello\r\n0\r\n\r\n", "0");
        yield return BadChunks("chunk size -1", "-1\r\nhello\r\n0\r\n\r\n", "");
        yield return BadChunks("chunk size +5", "+5\r\nhello\r\n0\r\n\r\n", "");
        yield return BadChunks("chunk size empty", "\r\nhello\r\n0\r\n\r\n", "");
        yield return BadChunks("chunk size not hex", "g\r\nhello\r\n0\r\n\r\n", "");
        yield return BadChunks("chunk size leading space", " 5\r\nhello\r\n0\r\n\r\n", "");
        yield return BadChunks("chunk size BWS without extension", "5 \r\nhello\r\n0\r\n\r\n", "5 ");
        yield return BadChunks("chunk size 16 significant hex digits", "1000000000000000\r\nhello\r\n0\r\n\r\n", "100000000000000");
        yield return BadChunks("chunk size overflow", "FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n", "FFFFFFFFFFFFFFF");
        yield return BadChunks("chunk extension without name", "5;\r\nhello\r\n0\r\n\r\n", "5;");
        yield return BadChunks("chunk extension empty value", "5;a=\r\nhello\r\n0\r\n\r\n", "5;a=");
        yield return BadChunks("chunk extension NUL", "5;a\0\r\nhello\r\n0\r\n\r\n", "5;a");
        yield return BadChunks("chunk extension unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n", "5;a=\"x");
        yield return BadChunks("chunk size line LF only", "5\nhello\n0\n\n", "5");
        yield return BadChunks("chunk size line bare CR", "5\rhello\r\n0\r\n\r\n", "5\r");
        yield return BadChunks("no CRLF after chunk data", "5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello");
        yield return BadChunks("LF only after chunk data", "5\r\nhello\n0\r\n\r\n", "5\r\nhello");
        yield return BadChunks("chunk size larger than data, request for B after it", "a\r\nhello\r\n0\r\n\r\n" + Sent(GetB), "a\r\nhello\r\n0\r\n\r\n");
        yield return BadChunks("trailer obs-fold", "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n", "5\r\nhello\r\n0\r\nX: a\r\n");
        yield return BadChunks("trailer space before colon", "5\r\nhello\r\n0\r\nX : a\r\n\r\n", "5\r\nhello\r\n0\r\nX");
        yield return BadChunks("last chunk ends with bare LF", "5\r\nhello\r\n0\r\n\n", "5\r\nhello\r\n0\r\n");

        // Line endings and control characters in the head.
        yield return Refused("bare CR inside a value", BareCr, Sent(GetA + "X: a\rb\r\n"));
        yield return Refused("bare CR as line end", BareCr, Sent(GetA + "X: a\rY: b\r\n"));
        yield return Refused("bare CR before request line", BareCr, "\r" + Sent(GetA));
        yield return Refused("bare CR in request line", BareCr, Sent("GET /\r HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("bare LF everywhere", BareLf, "GET / HTTP/1.1\nHost: acme.example.com\n\n");
        yield return Refused("bare LF after request line", BareLf, "GET / HTTP/1.1\nHost: acme.example.com\r\n\r\n");
        yield return Refused("bare LF after a field", BareLf, GetA + "X: a\n\r\n");
        yield return Refused("bare LF between fields", BareLf, GetA + "X: a\nY: b\r\n\r\n");
        yield return Refused("CRLF LF ends head", BareLf, GetA + "\n");
        yield return Refused("obs-fold with space", ObsFold, Sent(GetA + "X: a\r\n b\r\n"));
        yield return Refused("obs-fold with tab", ObsFold, Sent(GetA + "X: a\r\n\tb\r\n"));
        yield return Refused("whitespace before first field", ObsFold, Sent("GET / HTTP/1.1\r\n Host: acme.example.com\r\n"));
        yield return Refused("space before colon", ColonSpace, Sent("GET / HTTP/1.1\r\nHost : acme.example.com\r\n"));
        yield return Refused("tab before colon", ColonSpace, Sent(GetA + "X-A\t: b\r\n"));
        yield return Refused("NUL in value", Controls, Sent(GetA + "X: a\0b\r\n"));
        yield return Refused("NUL in name", Controls, Sent(GetA + "X\0: a\r\n"));
        yield return Refused("CR in name", Controls, Sent(GetA + "X\rY: a\r\n"));
        yield return Refused("LF in name", Controls, Sent(GetA + "X\nY: a\r\n"));
        yield return Refused("DEL in value", Controls, Sent(GetA + "X: a\u007fb\r\n"));
        yield return Refused("ESC in value", Controls, Sent(GetA + "X: \u001b[0m\r\n"));
        yield return Refused("field without colon", Controls, Sent(GetA + "X-A\r\n"));
        yield return Refused("empty field name", Controls, Sent(GetA + ": a\r\n"));

        // Request-line oddities.
        yield return Refused("two spaces after method", RequestLine, Sent("GET  / HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("two spaces before version", RequestLine, Sent("GET /  HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("space after version", RequestLine, Sent("GET / HTTP/1.1 \r\nHost: acme.example.com\r\n"));
        yield return Refused("space before method", RequestLine, Sent(" GET / HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("tab separator", RequestLine, Sent("GET\t/ HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("method with '@'", RequestLine, Sent("G@T / HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("method with '('", RequestLine, Sent("GE(T / HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("method with NUL", RequestLine, Sent("GET\0 / HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("missing version", RequestLine, Sent("GET /\r\nHost: acme.example.com\r\n"));
        yield return Refused("missing target and version", RequestLine, Sent("GET\r\nHost: acme.example.com\r\n"));
        yield return Refused("lower-case version", RequestLine, Sent("GET / http/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("version without minor", RequestLine, Sent("GET / HTTP/1\r\nHost: acme.example.com\r\n"));
        yield return Refused("version with garbage", RequestLine, Sent("GET / HTTP/1.1x\r\nHost: acme.example.com\r\n"));
        yield return Refused("space in target", RequestLine, Sent("GET /a b HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("fragment in target", RequestLine, Sent("GET /a#b HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("non-ASCII in target", RequestLine, Sent("GET /\u00e9 HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("asterisk-form without OPTIONS", RequestLine, Sent("GET * HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("relative target", RequestLine, Sent("GET a/b HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("CONNECT is not proxied", RequestLine, Sent("CONNECT acme.example.com:443 HTTP/1.1\r\nHost: acme.example.com:443\r\n"), 405);
        yield return Ok("lower-case method is just another token", RequestLine, Sent("get / HTTP/1.1\r\nHost: acme.example.com\r\n"), Got("get / HTTP/1.1\r\nHost: acme.example.com\r\n", HostA));
        yield return Ok("extension method", RequestLine, Sent("PROPFIND /d HTTP/1.1\r\nHost: acme.example.com\r\n"), Got("PROPFIND /d HTTP/1.1\r\nHost: acme.example.com\r\n", HostA));
        yield return Ok("OPTIONS asterisk-form", RequestLine, Sent("OPTIONS * HTTP/1.1\r\nHost: acme.example.com\r\n"), Got("OPTIONS * HTTP/1.1\r\nHost: acme.example.com\r\n", HostA));
        yield return Ok("empty line before request line is skipped", RequestLine, "\r\n" + Sent(GetA), Got(GetA, HostA));
        yield return Ok("obs-text and tab inside a value", RequestLine, Sent(GetA + "X-V: caf\u00e9 \t x\r\n"), Got(GetA + "X-V: caf\u00e9 \t x\r\n", HostA));

        // Versions.
        yield return Refused("HTTP/2 preface", Version, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
        yield return Refused("HTTP/2.0", Version, Sent("GET / HTTP/2.0\r\nHost: acme.example.com\r\n"), 505);
        yield return Refused("HTTP/3.0", Version, Sent("GET / HTTP/3.0\r\nHost: acme.example.com\r\n"), 505);
        yield return Refused("HTTP/2.1", Version, Sent("GET / HTTP/2.1\r\nHost: acme.example.com\r\n"), 505);
        yield return Ok("HTTP/1.2 is taken as HTTP/1.1 and forwarded as HTTP/1.1", Version, Sent("GET / HTTP/1.2\r\nHost: acme.example.com\r\n"), Got(GetA, HostA));
        yield return Ok("HTTP/1.9 absolute-form forwarded as HTTP/1.1", Version, Sent("GET http://acme.example.com/v HTTP/1.9\r\nHost: acme.example.com\r\n"),
            Got("GET /v HTTP/1.1\r\nHost: acme.example.com\r\n", HostA));
        yield return Refused("HTTP/0.9 version", Version, Sent("GET / HTTP/0.9\r\nHost: acme.example.com\r\n"), 505);

        // Host.
        yield return Refused("no Host in HTTP/1.1", Host, Sent("GET / HTTP/1.1\r\n"));
        yield return Refused("two equal Hosts", Host, Sent(GetA + "Host: acme.example.com\r\n"));
        yield return Refused("two Hosts for two tenants", Host, Sent(GetA + "Host: beta.example.com\r\n"));
        yield return Refused("empty Host", Host, Sent("GET / HTTP/1.1\r\nHost: \r\n"));
        yield return Refused("Host with userinfo", Host, Sent("GET / HTTP/1.1\r\nHost: user@acme.example.com\r\n"));
        yield return Refused("Host list", Host, Sent("GET / HTTP/1.1\r\nHost: acme.example.com, beta.example.com\r\n"));
        yield return Refused("Host with path", Host, Sent("GET / HTTP/1.1\r\nHost: acme.example.com/x\r\n"));
        yield return Refused("Host with empty port", Host, Sent("GET / HTTP/1.1\r\nHost: acme.example.com:\r\n"));
        yield return Refused("Host with port over 65535", Host, Sent("GET / HTTP/1.1\r\nHost: acme.example.com:65536\r\n"));
        yield return Refused("unknown Host", Host, Sent("GET / HTTP/1.1\r\nHost: other.example.com\r\n"), 421);
        yield return Ok("Host case and port do not change the tenant", Host, Sent("GET / HTTP/1.1\r\nHost: ACME.Example.COM:8080\r\n"), Got("GET / HTTP/1.1\r\nHost: ACME.Example.COM:8080\r\n", "ACME.Example.COM:8080"));

        // Absolute-form: its authority is the tenant key, and the backend sees it as Host.
        yield return Ok("absolute-form routes by its authority, Host rewritten", Absolute,
            Sent("GET http://beta.example.com/x?q=1 HTTP/1.1\r\nHost: acme.example.com\r\nX-K: v\r\n"), "",
            Got("GET /x?q=1 HTTP/1.1\r\nHost: beta.example.com\r\nX-K: v\r\n", HostB), "200 b");
        yield return Ok("absolute-form without path", Absolute,
            Sent("GET http://beta.example.com HTTP/1.1\r\nHost: beta.example.com\r\n"), "",
            Got("GET / HTTP/1.1\r\nHost: beta.example.com\r\n", HostB), "200 b");
        yield return Ok("absolute-form with query only, upper-case scheme", Absolute,
            Sent("GET HTTP://beta.example.com:8080?x HTTP/1.1\r\nHost: acme.example.com\r\n"), "",
            Got("GET /?x HTTP/1.1\r\nHost: beta.example.com:8080\r\n", "beta.example.com:8080"), "200 b");
        yield return Refused("absolute-form with userinfo", Absolute, Sent("GET http://u:p@acme.example.com/ HTTP/1.1\r\nHost: acme.example.com\r\n"));
        yield return Refused("absolute-form userinfo naming the other tenant", Absolute, Sent("GET http://acme.example.com@beta.example.com/ HTTP/1.1\r\nHost: beta.example.com\r\n"));
        yield return Refused("absolute-form still needs Host", Absolute, Sent("GET http://acme.example.com/ HTTP/1.1\r\n"));
        yield return Refused("absolute-form with another scheme", Absolute, Sent("GET ftp://acme.example.com/ HTTP/1.1\r\nHost: acme.example.com\r\n"));

        // Pipelining: answered in order, each request routed by its own Host.
        yield return Ok("pipelined A, B, A", Pipelining, Sent(GetA) + Sent(GetB) + Sent("GET /2 HTTP/1.1\r\nHost: acme.example.com\r\n"),
            Got(GetA, HostA) + Got("GET /2 HTTP/1.1\r\nHost: acme.example.com\r\n", HostA), Got(GetB, HostB), "200 a", "200 b", "200 a");
        yield return Ok("pipelined Content-Length body to A, then B", Pipelining, Sent(PostA + "Content-Length: 5\r\n", "hello") + Sent(GetB),
            Got(PostA + "Content-Length: 5\r\n", HostA, "hello"), Got(GetB, HostB), "200 a", "200 b");
        yield return Ok("pipelined chunked A, Content-Length B, chunked B, A", Pipelining,
            Sent(ChunkedA, Hello) + Sent(PostB + "Content-Length: 3\r\n", "abc") + Sent(PostB + "Transfer-Encoding: chunked\r\n", "3\r\nxyz\r\n0\r\n\r\n") + Sent(GetA),
            Got(ChunkedA, HostA, Hello) + Got(GetA, HostA),
            Got(PostB + "Content-Length: 3\r\n", HostB, "abc") + Got(PostB + "Transfer-Encoding: chunked\r\n", HostB, "3\r\nxyz\r\n0\r\n\r\n"),
            "200 a", "200 b", "200 b", "200 a");
        yield return Ok("pipelined absolute-form B, then origin-form A", Pipelining,
            Sent("GET http://beta.example.com/b HTTP/1.1\r\nHost: acme.example.com\r\n") + Sent(GetA),
            Got(GetA, HostA), Got("GET /b HTTP/1.1\r\nHost: beta.example.com\r\n", HostB), "200 b", "200 a");
        yield return new RequestCase("pipelined valid A, then CL.TE for B", Pipelining,
            Sent(GetA) + Sent(PostB + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), ["200 a", "400"], Closed: true, ToA: Got(GetA, HostA));
        yield return new RequestCase("pipelined valid A, then bare-LF request for B", Pipelining,
            Sent(GetA) + "GET / HTTP/1.1\nHost: beta.example.com\n\n", ["200 a", "400"], Closed: true, ToA: Got(GetA, HostA));
        yield return new RequestCase("pipelined valid A, then unknown Host, then B", Pipelining,
            Sent(GetA) + Sent("GET / HTTP/1.1\r\nHost: nobody.example.com\r\n") + Sent(GetB), ["200 a", "421"], Closed: true, ToA: Got(GetA, HostA));
        yield return Refused("pipelined request after a 400 reaches nobody", Pipelining, Sent(GetA + "Host: beta.example.com\r\n") + Sent(GetB));
        yield return Refused("pipelined request after a 505 reaches nobody", Pipelining, Sent("GET / HTTP/2.0\r\nHost: acme.example.com\r\n") + Sent(GetB), 505);

        // HTTP/1.0 and Connection: close. An HTTP/1.0 request goes to the backend as HTTP/1.1 (RFC 9110 section 2.5),
        // so the backend connection is keep-alive; the client connection follows the client's own Connection choice.
        yield return new RequestCase("Connection: close, later request never sent on", Http10,
            Sent(GetA + "Connection: close\r\n") + Sent(GetB), Ok200A, Closed: true, ToA: Got(GetA, HostA));
        yield return new RequestCase("HTTP/1.0 closes after one response", Http10,
            Sent("GET / HTTP/1.0\r\nHost: acme.example.com\r\n") + Sent(GetB), Ok200A, Closed: true, ToA: Got("GET / HTTP/1.1\r\nHost: acme.example.com\r\n", HostA));
        yield return new RequestCase("HTTP/1.0 with a body", Http10,
            Sent("POST /p HTTP/1.0\r\nHost: acme.example.com\r\nContent-Length: 5\r\n", "hello"), Ok200A, Closed: true,
            ToA: Got("POST /p HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 5\r\n", HostA, "hello"));
        yield return Ok("HTTP/1.0 keep-alive, pipelined", Http10,
            Sent("GET / HTTP/1.0\r\nHost: acme.example.com\r\nConnection: keep-alive\r\n") + Sent("GET /2 HTTP/1.0\r\nHost: beta.example.com\r\nConnection: keep-alive\r\n"),
            Got("GET / HTTP/1.1\r\nHost: acme.example.com\r\n", HostA), Got("GET /2 HTTP/1.1\r\nHost: beta.example.com\r\n", HostB), "200 a", "200 b");
        yield return Refused("HTTP/1.0 without Host matches no tenant", Http10, Sent("GET / HTTP/1.0\r\n"), 421);

        // Expect: 100-continue is end to end: forwarded as is (the interim response is the backend's to send).
        yield return Ok("Expect 100-continue with the body sent at once", Expect,
            Sent(PostA + "Expect: 100-continue\r\nContent-Length: 5\r\n", "hello"), Got(PostA + "Expect: 100-continue\r\nContent-Length: 5\r\n", HostA, "hello"));
        yield return Ok("Expect 100-continue then pipelined B", Expect,
            Sent(PostA + "Expect: 100-continue\r\nContent-Length: 5\r\n", "hello") + Sent(GetB),
            Got(PostA + "Expect: 100-continue\r\nContent-Length: 5\r\n", HostA, "hello"), Got(GetB, HostB), "200 a", "200 b");

        // Default listener limits: max_head_bytes = 16384, max_headers = 100.
        yield return Refused("head over max_head_bytes", Limits, Sent(GetA + "X-Big: " + new string('x', 17000) + "\r\n"), 431);
        yield return Refused("request line over max_head_bytes", Limits, Sent("GET /" + new string('x', 17000) + " HTTP/1.1\r\nHost: acme.example.com\r\n"), 414);
        yield return Refused("101 header fields", Limits, Sent(GetA + string.Concat(Enumerable.Range(0, 100).Select(i => $"X-{i}: v\r\n"))), 431);
        yield return Ok("100 header fields", Limits, Sent(GetA + string.Concat(Enumerable.Range(0, 99).Select(i => $"X-{i}: v\r\n"))),
            Got(GetA + string.Concat(Enumerable.Range(0, 99).Select(i => $"X-{i}: v\r\n")), HostA));

        // Hop-by-hop fields go, client X-Forwarded-* fields are replaced (listener not behind a trusted proxy).
        yield return Ok("hop-by-hop fields removed", HopByHop,
            Sent(GetA + "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-Sum\r\nUpgrade: h2c\r\nX-Kept: y\r\n"),
            Got(GetA + "X-Kept: y\r\n", HostA));
        yield return Ok("client X-Forwarded-* replaced", HopByHop,
            Sent(GetA + "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: beta.example.com\r\nX-Forwarded-Proto: https\r\n"), Got(GetA, HostA));
    }
}
