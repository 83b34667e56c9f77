using System.Diagnostics.Tracing;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Diagnostics;

[Explicit]
public class AllocationProbe
{
    private sealed class AllocListener : EventListener
    {
        public readonly Dictionary<string, long> ByType = new();
        public bool On;
        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (!On || e.EventName != "GCAllocationTick_V4" || e.Payload is null) return;
            var name = e.PayloadNames!.IndexOf("TypeName") is var i and >= 0 ? e.Payload[i]?.ToString() ?? "?" : "?";
            lock (ByType) { ByType[name] = ByType.GetValueOrDefault(name) + 1; }
        }
    }

    [Test]
    public async Task KeepAliveRequests_AllocationPerRequest()
    {
        var backend = StartBackend();
        await MeasureKeepAliveAsync(backend, TestConfigs.OneTenant(backend.LocalEndPoint!.ToString()!));
    }

    /// <summary>The same with the backend written as a DNS name: picks read the resolver's backend set.</summary>
    [Test]
    public async Task DnsNamedBackend_KeepAliveRequests_AllocationPerRequest()
    {
        var backend = StartBackend();
        await using var dns = DnsResponder.Start();
        dns.Set("backend.test", 3600, IPAddress.Loopback); // no re-resolution while measuring
        var toml = $"[dns]\nservers = [\"{dns.Server}\"]\n\n" + TestConfigs.OneTenant($"backend.test:{((IPEndPoint)backend.LocalEndPoint!).Port}");
        await MeasureKeepAliveAsync(backend, toml);
    }

    private static async Task MeasureKeepAliveAsync(Socket backend, string toml)
    {
        await using var lb = await TestLb.StartAsync(toml);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(lb.EndPoint());
        var request = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n");
        var rbuf = new byte[4096];
        void Run(int count)
        {
            for (int i = 0; i < count; i++)
            {
                client.Send(request);
                var got = 0;
                while (true)
                {
                    got += client.Receive(rbuf, got, rbuf.Length - got, SocketFlags.None);
                    if (rbuf.AsSpan(0, got).IndexOf("\r\n\r\n"u8) >= 0) break;
                }
            }
        }

        Run(5000);
        using var listener = new AllocListener();
        var before = GC.GetTotalAllocatedBytes(true);
        listener.On = true;
        const int N = 20000;
        Run(N);
        listener.On = false;
        var after = GC.GetTotalAllocatedBytes(true);
        TestContext.Out.WriteLine($"allocated per request: {(after - before) / (double)N:F1} B");
        foreach (var (type, count) in listener.ByType.OrderByDescending(kv => kv.Value))
        {
            TestContext.Out.WriteLine($"  {count,6} ticks  {type}");
        }

        backend.Dispose();
    }

    /// <summary>
    /// The same over TLS, with curl as the client in its own process (one keep-alive connection, URLs from a -K file),
    /// so the allocations counted are lb's (and the in-test backend's, which allocates nothing per request).
    /// </summary>
    [Test]
    public async Task TlsKeepAliveRequests_AllocationPerRequest()
    {
        var curl = ExternalTool.Require("curl", "curl");
        using var certs = new TestCertificates();
        var (cert, key, _) = certs.Issue("a", ["acme.example.com"]);
        var backend = StartBackend();
        await using var lb = await TestLb.StartAsync(
            TestConfigs.OneTenant(backend.LocalEndPoint!.ToString()!, $"tls = {{ certificates = [ {{ cert = \"{cert}\", key = \"{key}\" }} ] }}"),
            certs.PathOf("lb.toml"));
        var port = lb.EndPoint().Port;

        async Task<string> WriteUrlsAsync(int count)
        {
            var urls = certs.PathOf($"urls-{count}.txt");
            await File.WriteAllLinesAsync(urls, Enumerable.Range(0, count).Select(_ => $"url = \"https://acme.example.com:{port}/\"\noutput = \"/dev/null\""));
            return urls;
        }

        async Task RunAsync(string urls)
        {
            var result = await ExternalTool.RunAsync(curl, ["-sS", "--cacert", certs.CaFile, "--resolve", $"acme.example.com:{port}:127.0.0.1", "-K", urls], null, CancellationToken.None);
            Assert.That(result.ExitCode, Is.EqualTo(0), result.Errors);
        }

        await RunAsync(await WriteUrlsAsync(2000));
        const int N = 10000;
        var measured = await WriteUrlsAsync(N);
        using var listener = new AllocListener();
        var before = GC.GetTotalAllocatedBytes(true);
        listener.On = true;
        await RunAsync(measured);
        listener.On = false;
        var after = GC.GetTotalAllocatedBytes(true);
        TestContext.Out.WriteLine($"allocated per request (one handshake per {N}): {(after - before) / (double)N:F1} B");
        foreach (var (type, count) in listener.ByType.OrderByDescending(kv => kv.Value))
        {
            TestContext.Out.WriteLine($"  {count,6} ticks  {type}");
        }

        backend.Dispose();
    }

    /// <summary>A thread-per-connection backend answering every read with an empty 200 (allocates nothing per request).</summary>
    private static Socket StartBackend()
    {
        var backend = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        backend.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        backend.Listen(16);
        var response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8.ToArray();
        new Thread(() =>
        {
            while (true)
            {
                Socket s;
                try { s = backend.Accept(); } catch { return; }
                new Thread(() =>
                {
                    var buf = new byte[8192];
                    try
                    {
                        while (true)
                        {
                            var n = s.Receive(buf);
                            if (n == 0) return;
                            s.Send(response);
                        }
                    }
                    catch { }
                }) { IsBackground = true }.Start();
            }
        }) { IsBackground = true }.Start();
        return backend;
    }
}
