using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// Third-party HTTP/2 stacks against lb (prior knowledge): nghttp and h2load (nghttp2), python3-h2 as a scripted
/// frame-level client, and curl moving 100 MiB each way through one stream with 64 KiB windows. Each tool is
/// installed by .ci/run; a machine without it skips with a notice.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2ExternalClientTests
{
    private static long Requests(TestLb lb, string tenant) => lb.Snapshot.Tenants[tenant].State.Requests(2);

    [Test]
    [CancelAfter(60_000)]
    public async Task Nghttp_TwoTenantsOnOneConnection_EachGetsItsOwnBackend(CancellationToken cancellationToken)
    {
        var nghttp = ExternalTool.Require("nghttp", "nghttp2-client");
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme\n"));
        await using var globex = RecordingBackend.Start(_ => RecordingBackend.Ok("globex\n"));
        await using var lb = await TestLb.StartAsync(TestConfigs.TwoTenantsHttp2(acme.Address, globex.Address));
        var url = $"http://{lb.EndPoint()}";

        // Two URIs on one connection; nghttp takes the authority of each from its URI, so both name lb's address and
        // the tenant comes from a Host-like :authority override per run.
        var a = await ExternalTool.RunAsync(nghttp, ["-H", ":authority: acme.example.com", $"{url}/one", $"{url}/two"], null, cancellationToken);
        var g = await ExternalTool.RunAsync(nghttp, ["-H", ":authority: globex.example.com", $"{url}/three"], null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((a.ExitCode, a.Output), Is.EqualTo((0, "acme\nacme\n")), a.Errors);
            Assert.That((g.ExitCode, g.Output), Is.EqualTo((0, "globex\n")), g.Errors);
            Assert.That(acme.Requests.Select(r => r.RequestLine), Is.EquivalentTo(new[] { "GET /one HTTP/1.1", "GET /two HTTP/1.1" }));
            Assert.That(globex.Requests.Select(r => r.RequestLine), Is.EqualTo(new[] { "GET /three HTTP/1.1" }));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task H2load_MultiplexedLoad_AllSucceed_CountsExact(CancellationToken cancellationToken)
    {
        var h2load = ExternalTool.Require("h2load", "nghttp2-client");
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("ok\n"));
        await using var globex = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.TwoTenantsHttp2(acme.Address, globex.Address));

        var run = await ExternalTool.RunAsync(h2load, ["-n", "2000", "-c", "4", "-m", "10", "-H", ":authority: acme.example.com", $"http://{lb.EndPoint()}/load"], null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.Zero, run.Output + run.Errors);
            Assert.That(run.Output, Does.Contain("2000 succeeded, 0 failed, 0 errored"), run.Output);
            Assert.That(run.Output, Does.Contain("status codes: 2000 2xx"), run.Output);
            Assert.That(acme.Requests.Count, Is.EqualTo(2000));
            Assert.That(Requests(lb, "acme"), Is.EqualTo(2000), "tenant accounting is exact under multiplexing");
        }
    }

    /// <summary>python3-h2 with outbound validation off, so it sends what a broken or hostile client would.</summary>
    private const string PythonClient = """
        import socket, sys
        import h2.config, h2.connection, h2.events
        port = int(sys.argv[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False))
        conn.initiate_connection()
        def get(authority, path, extra=()):
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", authority)] + list(extra), end_stream=True)
            return sid
        streams = {
            get("acme.example.com", "/a"): "acme",
            get("globex.example.com", "/g"): "globex",
            get("acme.example.com", "/bad", [("Upper-Case", "x")]): "uppercase",
            get("acme.example.com", "/bad2", [("connection", "keep-alive")]): "connection",
        }
        sock.sendall(conn.data_to_send())
        results, bodies = {}, {}
        while len(results) < len(streams):
            data = sock.recv(65535)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    results[event.stream_id] = dict(event.headers)[b":status"].decode()
                elif isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    results[event.stream_id] = "reset:%d" % event.error_code
            sock.sendall(conn.data_to_send())
        for sid, name in sorted(streams.items()):
            print(name, results.get(sid), bodies.get(sid, b"").decode().strip())
        """;

    [Test]
    [CancelAfter(60_000)]
    public async Task PythonH2_TwoTenantsRouted_MalformedStreamsResetWithProtocolError_NeverForwarded(CancellationToken cancellationToken)
    {
        if (!File.Exists("/usr/bin/python3"))
        {
            Assert.Ignore("/usr/bin/python3 with python3-h2 is not installed; .ci/run installs it.");
        }

        var probe = await ExternalTool.RunAsync("/usr/bin/python3", ["-c", "import h2"], null, cancellationToken);
        if (probe.ExitCode != 0)
        {
            Assert.Ignore("python3-h2 is not installed; .ci/run installs it.");
        }

        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme"));
        await using var globex = RecordingBackend.Start(_ => RecordingBackend.Ok("globex"));
        await using var lb = await TestLb.StartAsync(TestConfigs.TwoTenantsHttp2(acme.Address, globex.Address));

        var run = await ExternalTool.RunAsync("/usr/bin/python3", ["-c", PythonClient, lb.EndPoint().Port.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, cancellationToken);

        Assert.That(run.ExitCode, Is.Zero, run.Errors);
        var lines = run.Output.Trim().Split('\n');
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lines, Is.EqualTo(new[] { "acme 200 acme", "globex 200 globex", "uppercase reset:1 ", "connection reset:1 " }.Select(l => l.TrimEnd())).Using<string>((x, y) => string.CompareOrdinal(x.TrimEnd(), y.TrimEnd())), run.Output);
            Assert.That(acme.Requests.Select(r => r.RequestLine), Is.EqualTo(new[] { "GET /a HTTP/1.1" }), "malformed streams never reach a backend");
            Assert.That(globex.Requests.Select(r => r.RequestLine), Is.EqualTo(new[] { "GET /g HTTP/1.1" }));
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Curl_100MiBUploadAndDownload_ThroughOneStreamWith64KiBWindows_ByteIdentical(CancellationToken cancellationToken)
    {
        var curl = ExternalTool.Require("curl", "curl");
        const int size = 100 * 1024 * 1024;
        var payload = new byte[size];
        new Random(16).NextBytes(payload);
        var expected = Convert.ToHexString(SHA256.HashData(payload));
        var response = (byte[])[.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n"), .. payload];
        await using var backend = RecordingBackend.Start(request => request.RequestLine.StartsWith("GET", StringComparison.Ordinal) ? response : RecordingBackend.Ok(Convert.ToHexString(SHA256.HashData(request.BodyBytes))));
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "http2 = { initial_window_size = 65535 }"));
        var file = Path.Combine(Path.GetTempPath(), $"lb-h2-{Guid.NewGuid():N}.bin");
        var downloaded = file + ".down";
        await File.WriteAllBytesAsync(file, payload, cancellationToken);
        try
        {
            var url = $"http://{lb.EndPoint()}/blob";
            var up = await ExternalTool.RunAsync(curl, ["-sS", "--fail", "--http2-prior-knowledge", "-H", "Host: acme.example.com", "--data-binary", "@" + file, url], null, cancellationToken);
            var down = await ExternalTool.RunAsync(curl, ["-sS", "--fail", "--http2-prior-knowledge", "-H", "Host: acme.example.com", "-o", downloaded, url], null, cancellationToken);

            using (Assert.EnterMultipleScope())
            {
                Assert.That((up.ExitCode, up.Output), Is.EqualTo((0, expected)), up.Errors);
                Assert.That(down.ExitCode, Is.Zero, down.Errors);
                Assert.That(Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(downloaded, cancellationToken))), Is.EqualTo(expected));
            }
        }
        finally
        {
            File.Delete(file);
            File.Delete(downloaded);
        }
    }
}
