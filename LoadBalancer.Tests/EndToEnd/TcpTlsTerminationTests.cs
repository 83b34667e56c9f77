using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using LoadBalancer.Core.Tls;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// tcp listeners with <c>tls</c>: lb terminates TLS and pumps the plaintext to a plain echo backend; the tenant's
/// max_connections, its bytes each way and its connections in /api/usage.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TcpTlsTerminationTests : TlsFixture
{
    private string Config(string backend, string tenantAExtra = "") => $$"""
        [[listeners]]
        name = "l4"
        listen = "127.0.0.1:0"
        protocol = "tcp"
        tenant_key = "sni"
        tls = { certificates = [ {{TlsTerminationTests.Entry(Certs.Issue("ab", ["a.test", "b.test"]))}} ], handshake_timeout = "5s" }

        [[tenants]]
        name = "a"
        match = ["a.test"]
        pool = "p"
        {{tenantAExtra}}

        [[tenants]]
        name = "b"
        match = ["b.test"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [ { address = "{{backend}}" } ]
        """;

    private async Task<SslStream> ConnectTlsAsync(TestLb lb, string serverName, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(lb.EndPoint("l4"), cancellationToken);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => Certs.Validate(certificate as X509Certificate2),
            }, cancellationToken);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }

    private static async Task<byte[]> EchoAsync(SslStream tls, byte[] data, CancellationToken cancellationToken)
    {
        var writing = tls.WriteAsync(data, cancellationToken).AsTask();
        var back = new byte[data.Length];
        await tls.ReadExactlyAsync(back, cancellationToken);
        await writing;
        return back;
    }

    private static async Task<JsonElement> UsageOfAsync(TestAdmin admin, string tenant, CancellationToken cancellationToken)
    {
        using var usage = JsonDocument.Parse(await admin.GetAsync("/api/usage", cancellationToken));
        return usage.RootElement.GetProperty("tenants").EnumerateArray().Single(t => t.GetProperty("tenant").GetString() == tenant).Clone();
    }

    private static long Handshakes(TestLb lb, TlsHandshakeResult result) => lb.Snapshot.Listeners[0].Tls!.Counters[result];

    [Test]
    [CancelAfter(30_000)]
    public async Task SslStream_EchoedByteExact_BytesAndConnectionCountedExactly(CancellationToken cancellationToken)
    {
        await using var echo = TcpEchoBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(echo.Address), ConfigPath);
        await using var admin = TestAdmin.Start(lb);

        var data = new byte[256 * 1024 + 17];
        new Random(12).NextBytes(data);
        await using (var tls = await ConnectTlsAsync(lb, "a.test", cancellationToken))
        {
            Assert.That(await EchoAsync(tls, data, cancellationToken), Is.EqualTo(data), "the plaintext reaches the backend and comes back byte for byte");
            Assert.That(tls.NegotiatedApplicationProtocol, Is.EqualTo(default(SslApplicationProtocol)), "a tunnel offers no ALPN protocol");
        }

        await Eventually.UntilAsync(() => lb.Snapshot.Tenants["a"].State.TcpBytesSent == data.Length && lb.Snapshot.Tenants["a"].State.ActiveConnections == 0, cancellationToken);
        var a = await UsageOfAsync(admin, "a", cancellationToken);
        var connections = a.GetProperty("connections").EnumerateArray().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(connections.GetProperty("protocol").GetString(), Is.EqualTo("tcp"));
            Assert.That(connections.GetProperty("total").GetInt64(), Is.EqualTo(1));
            Assert.That(connections.GetProperty("bytes_received").GetInt64(), Is.EqualTo(data.Length), "plaintext bytes, not TLS records");
            Assert.That(connections.GetProperty("bytes_sent").GetInt64(), Is.EqualTo(data.Length));
            Assert.That(a.GetProperty("bytes_received").GetInt64(), Is.EqualTo(data.Length));
            Assert.That(a.GetProperty("bytes_sent").GetInt64(), Is.EqualTo(data.Length));
            Assert.That(a.GetProperty("requests_total").GetInt64(), Is.Zero, "a tunnel is no request");
            Assert.That((await UsageOfAsync(admin, "b", cancellationToken)).TryGetProperty("connections", out _), Is.False);
            Assert.That(Handshakes(lb, TlsHandshakeResult.Ok), Is.EqualTo(1));
            Assert.That(echo.Connections, Is.EqualTo(1));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenSslClient_Verified_EchoedThroughLb(CancellationToken cancellationToken)
    {
        var openssl = ExternalTool.Require("openssl", "openssl");
        await using var echo = TcpEchoBackend.Start(closeAfterBytes: 9);
        await using var lb = await TestLb.StartAsync(Config(echo.Address), ConfigPath);
        var connect = $"127.0.0.1:{lb.EndPoint("l4").Port}";

        // -ign_eof: s_client keeps reading after its input ends, until the backend's close comes through lb.
        var result = await ExternalTool.RunAsync(openssl, ["s_client", "-connect", connect, "-servername", "b.test", "-CAfile", Certs.CaFile, "-verify_return_error", "-ign_eof"], "hello lb\n", cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Output, Does.Contain("Verify return code: 0 (ok)").And.Contain("\nhello lb\n"), result.Output + result.Errors);
            Assert.That(Encoding.ASCII.GetString(echo.Received.ToArray()), Is.EqualTo("hello lb\n"));
        }

        await Eventually.UntilAsync(() => lb.Snapshot.Tenants["b"].State.TcpBytesSent == 9, cancellationToken);
        Assert.That((lb.Snapshot.Tenants["b"].State.TcpConnections, lb.Snapshot.Tenants["b"].State.TcpBytesReceived), Is.EqualTo((1L, 9L)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TenantAtMaxConnections_Refused_OtherTenantServed(CancellationToken cancellationToken)
    {
        await using var echo = TcpEchoBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(echo.Address, "max_connections = 1"), ConfigPath);
        await using var admin = TestAdmin.Start(lb);
        var ping = "ping"u8.ToArray();

        await using var first = await ConnectTlsAsync(lb, "a.test", cancellationToken);
        Assert.That(await EchoAsync(first, ping, cancellationToken), Is.EqualTo(ping));

        // Refused before the handshake: the client sees the connection close instead of a ServerHello.
        Assert.That(async () => await (await ConnectTlsAsync(lb, "a.test", cancellationToken)).DisposeAsync(), Throws.InstanceOf<IOException>().Or.InstanceOf<System.Security.Authentication.AuthenticationException>());

        await using (var other = await ConnectTlsAsync(lb, "b.test", cancellationToken))
        {
            Assert.That(await EchoAsync(other, ping, cancellationToken), Is.EqualTo(ping), "another tenant is not affected");
        }

        var a = await UsageOfAsync(admin, "a", cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(a.GetProperty("refused").GetProperty("max_connections").GetInt64(), Is.EqualTo(1));
            Assert.That(a.GetProperty("connections")[0].GetProperty("total").GetInt64(), Is.EqualTo(1));
            Assert.That(lb.Snapshot.Tenants["a"].State.ActiveConnections, Is.EqualTo(1));
            Assert.That(Handshakes(lb, TlsHandshakeResult.Ok), Is.EqualTo(2), "the refused connection cost no handshake");
            Assert.That(echo.Connections, Is.EqualTo(2));
        }

        // The slot comes back when the first connection ends.
        await first.DisposeAsync();
        await Eventually.UntilAsync(() => lb.Snapshot.Tenants["a"].State.ActiveConnections == 0, cancellationToken);
        await using var again = await ConnectTlsAsync(lb, "a.test", cancellationToken);
        Assert.That(await EchoAsync(again, ping, cancellationToken), Is.EqualTo(ping));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PlainTextToTlsTcpListener_ClosedAndCountedFailed_BackendNeverReached(CancellationToken cancellationToken)
    {
        await using var echo = TcpEchoBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(echo.Address).Replace("tenant_key = \"sni\"", "default_tenant = \"a\""), ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken, "l4");
        await client.SendAsync("hello in plain text\r\n\r\n", cancellationToken);
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
        await Eventually.UntilAsync(() => Handshakes(lb, TlsHandshakeResult.Failed) == 1, cancellationToken);
        Assert.That(echo.Connections, Is.Zero);
    }
}
