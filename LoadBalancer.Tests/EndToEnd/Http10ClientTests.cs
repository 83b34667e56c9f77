using System.Diagnostics;
using System.Globalization;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// HTTP/1.0 clients (issue 17): lb speaks HTTP/1.1 keep-alive to the backend whatever the client's version, and fits
/// the response back to the client (Connection: keep-alive when asked, chunked bodies de-chunked and close-delimited).
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http10ClientTests
{
    private const string KeepAliveGet = "GET / HTTP/1.0\r\nHost: acme.example.com\r\nConnection: keep-alive\r\n\r\n";

    [Test]
    [CancelAfter(20_000)]
    public async Task Http10KeepAlive_TenRequestsOnOneConnection_UseOneBackendConnection(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        for (var i = 0; i < 10; i++)
        {
            await client.SendAsync(KeepAliveGet, cancellationToken);
            var response = await client.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Status, Is.EqualTo(200));
            Assert.That(response.Header("Connection"), Is.EqualTo("keep-alive"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(backend.Connections, Is.EqualTo(1), "backend connections for 10 requests");
            Assert.That(backend.Requests.Select(r => r.RequestLine), Is.All.EqualTo("GET / HTTP/1.1"));
            Assert.That(backend.Requests.SelectMany(r => r.Values("Connection")), Is.Empty, "keep-alive is HTTP/1.1's default");
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Http10WithoutHost_StaysHttp10WithKeepAlive(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "tenant_key = \"header:X-Tenant\""));
        await using var client = await lb.ConnectAsync(cancellationToken);
        for (var i = 0; i < 2; i++)
        {
            await client.SendAsync("GET /x HTTP/1.0\r\nX-Tenant: acme.example.com\r\nConnection: keep-alive\r\n\r\n", cancellationToken);
            Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        }

        // An HTTP/1.1 request needs a Host, and nginx (among others) refuses the empty one RFC 9112 section 3.2 offers.
        var received = backend.Requests.First();
        Assert.Multiple(() =>
        {
            Assert.That(received.RequestLine, Is.EqualTo("GET /x HTTP/1.0"));
            Assert.That(received.Values("Host"), Is.Empty);
            Assert.That(received.Values("Connection"), Is.EqualTo(new[] { "keep-alive" }));
            Assert.That(backend.Connections, Is.EqualTo(1), "the backend connection is kept");
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ChunkedResponse_ToHttp10Client_ArrivesDechunkedAndCloseDelimited_BackendConnectionReused(CancellationToken cancellationToken)
    {
        var content = new byte[300_000];
        new Random(17).NextBytes(content);
        var calls = 0;
        await using var backend = RecordingBackend.Start(_ => Interlocked.Increment(ref calls) == 1 ? Chunked(content) : RecordingBackend.Ok("a"));

        // One loop: the second client connection must find the first one's idle backend connection (pools are per loop).
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address), loops: 1);
        await using (var client = await lb.ConnectAsync(cancellationToken))
        {
            await client.SendAsync(KeepAliveGet, cancellationToken);
            var response = await client.ReadResponseAsync(cancellationToken);
            Assert.Multiple(() =>
            {
                Assert.That(response!.Status, Is.EqualTo(200));
                Assert.That(response.Header("Transfer-Encoding"), Is.Null);
                Assert.That(response.Header("Trailer"), Is.Null);
                Assert.That(response.Header("Connection"), Is.EqualTo("close"));
                Assert.That(response.Body, Is.EqualTo(content), "body byte-identical to the chunk data");
            });
            Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True, "the close ends the body");
        }

        await using var next = await lb.ConnectAsync(cancellationToken);
        await next.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That((await next.ReadResponseAsync(cancellationToken))!.BodyText, Is.EqualTo("a"));
        Assert.That(backend.Connections, Is.EqualTo(1), "the chunked body was read to its end: the backend connection was reused");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ExpectContinue_ToHttp10Backend_LbAnswers100Itself(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(_ => "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"u8.ToArray());
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);

        // The first answer tells lb the backend speaks HTTP/1.0.
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));

        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: acme.example.com\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", cancellationToken);
        var interim = await client.ReadResponseAsync(cancellationToken);
        Assert.That(interim!.Status, Is.EqualTo(100), "lb sends 100 Continue before the client's body");

        await client.SendAsync("hello", cancellationToken);
        var final = await client.ReadResponseAsync(cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(final!.Status, Is.EqualTo(200));
            Assert.That(final.BodyText, Is.EqualTo("ok"));
            Assert.That(backend.Requests.Last().BodyBytes, Is.EqualTo("hello"u8.ToArray()));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ExpectContinue_ToHttp11Backend_IsLeftToTheBackend(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(sendContinue: true);
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));

        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: acme.example.com\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(100));
        await client.SendAsync("hello", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200), "exactly one 100, the backend's");
    }

    /// <summary>Apache's ab -k (HTTP/1.0 keep-alive) through lb: every request succeeds on at most one backend connection per ab connection.</summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task ApacheBench_KeepAlive_AllSucceed_BackendConnectionsAtMostConcurrency(CancellationToken cancellationToken)
    {
        var ab = FindOnPath("ab");
        if (ab is null)
        {
            Assert.Ignore("ab (apt package apache2-utils) is not installed; .ci/run installs it.");
        }

        await using var backend = RecordingBackend.Start(_ => RecordingBackend.Ok("hello\n"));
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));
        var info = new ProcessStartInfo(ab!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-k", "-n", "200", "-c", "2", "-H", "Host: acme.example.com", $"http://{lb.EndPoint()}/" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            var text = await output;
            Assert.That(process.ExitCode, Is.EqualTo(0), text + await errors);
            Assert.Multiple(() =>
            {
                Assert.That(Field(text, "Complete requests"), Is.EqualTo(200), text);
                Assert.That(Field(text, "Failed requests"), Is.EqualTo(0), text);
                Assert.That(Field(text, "Keep-Alive requests"), Is.EqualTo(200), text);
                Assert.That(backend.Connections, Is.LessThanOrEqualTo(2), "backend connections for ab -c 2");
            });
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    private static byte[] Chunked(byte[] content)
    {
        using var stream = new MemoryStream();
        stream.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"u8);
        var sizes = new[] { 1, 7, 4096, 65_536, 100 };
        var offset = 0;
        for (var i = 0; offset < content.Length; i++)
        {
            var size = Math.Min(sizes[i % sizes.Length], content.Length - offset);
            stream.Write(Encoding.ASCII.GetBytes(size.ToString("x", CultureInfo.InvariantCulture) + (i % 3 == 0 ? ";ext=1" : "") + "\r\n"));
            stream.Write(content, offset, size);
            stream.Write("\r\n"u8);
            offset += size;
        }

        stream.Write("0\r\nX-Sum: 1\r\n\r\n"u8);
        return stream.ToArray();
    }

    private static int Field(string abOutput, string name)
    {
        foreach (var line in abOutput.Split('\n'))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return int.Parse(line[(name.Length + 1)..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
