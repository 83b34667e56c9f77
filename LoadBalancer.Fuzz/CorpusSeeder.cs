using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Transport;
using LoadBalancer.Tests.EndToEnd.Conformance;
using LoadBalancer.Tests.Unit.Http;

namespace LoadBalancer.Fuzz;

/// <summary>
/// Writes the seed corpora under corpus/&lt;target&gt;/: the conformance tables' rows, the unit corpus, RFC and spec
/// examples, and real ClientHellos from .NET's TLS client. Files are named by content hash, so re-seeding adds only new
/// rows (and new ClientHellos: their random and key shares differ each time); libFuzzer's additions sit beside them.
/// </summary>
internal static class CorpusSeeder
{
    public static int Write(string root)
    {
        var requests = RequestCases.All().Select(c => c.Request).Concat(HttpHeadCorpus.ValidRequests)
            .Concat(
            [
                // RFC 9112 section 3.2 examples of the four target forms, and RFC 9110's Host examples.
                "GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n",
                "GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\nHost: www.example.org\r\n\r\n",
                "CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com:80\r\n\r\n",
                "OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
                "POST /x HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, Upgrade\r\nUpgrade: h2c\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            ]).ToList();
        int written = Save(root, "http-request", requests.Select(Latin1));
        written += Save(root, "http-request-diff", requests.Select(Latin1));
        written += Save(root, "http-response", ResponseCases.All().Select(c => c.Response).Concat(HttpHeadCorpus.ValidResponses).Select(Latin1));
        written += Save(root, "chunked", HttpHeadCorpus.ValidChunkedBodies.Concat(ChunkedBodies(requests)).Concat(ChunkedBodies(ResponseCases.All().Select(c => c.Response))).Select(Latin1));
        written += Save(root, "proxy-protocol", ProxySeeds());
        written += Save(root, "tls-client-hello", [ClientHello("acme.example.com"), ClientHello("xn--bcher-kva.example"), [22, 3, 1, 0, 4, 1, 0, 0, 0]]);
        written += Save(root, "config", ConfigSeeds());
        written += Save(root, "hpack", HpackSeeds());
        written += Save(root, "http2-frames", Http2FrameSeeds());
        written += Save(root, "http2-response", Http2ResponseSeeds());
        Console.WriteLine($"seeded {written} new files under {root}");
        return 0;
    }

    private static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>The bytes after a chunked head: the body the decoder sees.</summary>
    private static IEnumerable<string> ChunkedBodies(IEnumerable<string> messages)
    {
        foreach (var message in messages)
        {
            int end = message.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end > 0 && message[..end].Contains("chunked", StringComparison.OrdinalIgnoreCase) && end + 4 < message.Length)
            {
                yield return message[(end + 4)..];
            }
        }
    }

    /// <summary>RFC 7541 Appendix C blocks behind the target's block-count byte (0: one block), and a Huffman string.</summary>
    /// <summary>A flags byte (1 END_STREAM, 2 content-length: 0, 4 trailers) and an HPACK block: heads, gRPC trailers, malformed fields.</summary>
    private static IEnumerable<byte[]> Http2ResponseSeeds()
    {
        (byte Flags, (string Name, string Value)[] Fields)[] seeds =
        [
            (0, [(":status", "200"), ("content-type", "text/plain"), ("content-length", "5")]),
            (0, [(":status", "200"), ("content-type", "application/grpc")]),
            (1, [(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "5"), ("grpc-message", "no such thing")]),
            (3, [(":status", "204")]),
            (2, [(":status", "103"), ("link", "</a.css>; rel=preload")]),
            (4, [("grpc-status", "0"), ("x-echo-length", "3")]),
            (0, [(":status", "200"), ("x-bad", "a\r\nx-injected: 1")]),
            (0, [(":status", "200"), ("Upper", "x")]),
            (0, [("x", "y"), (":status", "200")]),
            (0, [(":status", "200"), ("connection", "close")]),
            (4, [(":status", "200")]),
        ];
        foreach (var (flags, fields) in seeds)
        {
            var block = new byte[4096];
            block[0] = flags;
            var w = 1;
            foreach (var (name, value) in fields)
            {
                w += LoadBalancer.Core.Http2.Hpack.HpackEncoder.Encode(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), false, block.AsSpan(w));
            }

            yield return block[..w];
        }
    }

    private static IEnumerable<byte[]> HpackSeeds()
    {
        string[] blocks =
        [
            "828684410f7777772e6578616d706c652e636f6d",
            "828684418cf1e3c2e5f23a6ba0ab90f4ff",
            "400a637573746f6d2d6b65790d637573746f6d2d686561646572",
            "100870617373776f726406736563726574",
            "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
            "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
            "3fe11f8220",
        ];
        foreach (var block in blocks)
        {
            yield return [0, .. Convert.FromHexString(block)];
        }

        // Two blocks of equal length, so the target's split falls between them: a literal indexed, then referenced.
        yield return [1, .. Convert.FromHexString("400a637573746f6d2d6b65790d637573746f6d2d686561646572"), .. Convert.FromHexString("bebebebebebebebebebebebebebebebebebebebebebebebebe")];
        yield return Convert.FromHexString("f1e3c2e5f23a6ba0ab90f4ff");
    }

    /// <summary>A client's first flight (SETTINGS, WINDOW_UPDATE, HEADERS, DATA) and one frame of each other type.</summary>
    private static IEnumerable<byte[]> Http2FrameSeeds()
    {
        yield return Convert.FromHexString(
            "00000c04000000000000030000006400040010000000000408000000000000ff0001" +
            "00001101250000000100000000108286844186a0e41d139d09" +
            "00000500010000000168656c6c6f");
        yield return Convert.FromHexString("0000080600000000000102030405060708");
        yield return Convert.FromHexString("000008070000000000000000070000000b");
        yield return Convert.FromHexString("00000403000000000500000008");
        yield return Convert.FromHexString("0000050200000000030000000110");
        yield return Convert.FromHexString("000002090400000001" + "8286");
        yield return Convert.FromHexString("00000400010000000000");
        yield return Convert.FromHexString("0000070008000000010368690000000000");
    }

    private static IEnumerable<byte[]> ProxySeeds()
    {
        // proxy-protocol.txt section 2.1 examples, then v2 headers from the writer and the spec's LOCAL/UNSPEC forms.
        yield return Latin1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n");
        yield return Latin1("PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n");
        yield return Latin1("PROXY UNKNOWN\r\n");
        yield return Latin1("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n");
        var buffer = new byte[ProxyProtocolCodec.MaxWriteLength];
        int n = ProxyProtocolCodec.WriteV2(buffer, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 40000), new IPEndPoint(IPAddress.Parse("198.51.100.2"), 443));
        yield return buffer[..n];
        n = ProxyProtocolCodec.WriteV2(buffer, new IPEndPoint(IPAddress.Parse("2001:db8::7"), 1), new IPEndPoint(IPAddress.Parse("::1"), 65535));
        yield return buffer[..n];
        byte[] signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];
        yield return [.. signature, 0x20, 0x00, 0x00, 0x00];
        yield return [.. signature, 0x21, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03];
        yield return [.. signature, 0x21, 0x11, 0x00, 0x12, 192, 0, 2, 1, 198, 51, 100, 2, 0x9C, 0x40, 0x01, 0xBB, 0x04, 0x00, 0x03, 0x61, 0x62, 0x63];
        // 40 bytes that the target turns into a source and a target endpoint for its writers (fixed, so seeding is idempotent).
        yield return [.. Enumerable.Range(0, 40).Select(i => (byte)((i * 37) + 11))];
    }

    private static IEnumerable<byte[]> ConfigSeeds()
    {
        var repo = FindRepoRoot();
        if (repo is not null)
        {
            yield return File.ReadAllBytes(Path.Combine(repo, "lb.toml"));
        }

        yield return Latin1("[server]\n[[listeners]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\nmode = \"http\"\n");
        yield return Latin1("a = { b = [1, 2.5, \"x\", 1979-05-27T07:32:00Z, true], c.d = 'lit' }\n[[t]]\n[t.u]\nv = \"\"\"\nmulti\n\"\"\"\n");
    }

    private static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "lb.toml")) && File.Exists(Path.Combine(dir.FullName, "build.ps1")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>The first flight of .NET's own TLS client (OpenSSL underneath), captured from a stream that never answers.</summary>
    private static byte[] ClientHello(string serverName)
    {
        using var capture = new CaptureStream();
        using var tls = new SslStream(capture, leaveInnerStreamOpen: true);
        try
        {
            tls.AuthenticateAsClient(serverName);
        }
        catch (IOException)
        {
            // Expected: the capture stream ends the handshake after the ClientHello was written.
        }

        return capture.Written.ToArray();
    }

    private static int Save(string root, string target, IEnumerable<byte[]> inputs)
    {
        var dir = Path.Combine(root, target);
        Directory.CreateDirectory(dir);
        int written = 0;
        foreach (var input in inputs)
        {
            var file = Path.Combine(dir, Convert.ToHexStringLower(SHA1.HashData(input)));
            if (!File.Exists(file))
            {
                File.WriteAllBytes(file, input);
                written++;
            }
        }

        return written;
    }
}
