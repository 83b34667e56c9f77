using System.Net.Sockets;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Conformance;

/// <summary>
/// lb with three tenants, each on its own <see cref="RecordingBackend"/>: A (acme.example.com) and B
/// (beta.example.com) whose received bytes the tables assert, and a probe tenant used to show a connection is still open.
/// Each backend answers 200 with its own name as the body, so the client sees who answered.
/// </summary>
public sealed class ConformanceRig : IAsyncDisposable
{
    public const string ProbeRequest = "GET /probe HTTP/1.1\r\nHost: probe.example.com\r\n\r\n";

    private ConformanceRig(RecordingBackend a, RecordingBackend b, RecordingBackend probe, TestLb lb)
    {
        A = a;
        B = b;
        Probe = probe;
        Lb = lb;
    }

    public RecordingBackend A { get; }

    public RecordingBackend B { get; }

    public RecordingBackend Probe { get; }

    public TestLb Lb { get; }

    private bool _lbStopped;

    /// <param name="loops">Epoll loops (0: one per CPU); see <see cref="TestLb.StartAsync"/>.</param>
    public static async Task<ConformanceRig> StartAsync(RecordingBackend.Responder? respondA = null, int loops = 0)
    {
        var a = RecordingBackend.Start(respondA ?? (_ => RecordingBackend.Ok("a")));
        var b = RecordingBackend.Start(_ => RecordingBackend.Ok("b"));
        var probe = RecordingBackend.Start(_ => RecordingBackend.Ok("probe"));
        var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"
            # The HTTP/1.1 rules, on an HTTP/1.1-only listener: there the HTTP/2 preface is an unsupported version (505).
            http2 = false

            [[tenants]]
            name = "acme"
            match = ["acme.example.com"]
            pool = "a"

            [[tenants]]
            name = "beta"
            match = ["beta.example.com"]
            pool = "b"

            [[tenants]]
            name = "probe"
            match = ["probe.example.com"]
            pool = "probe"

            [[pools]]
            name = "a"
            backends = [ { address = "{{a.Address}}" } ]

            [[pools]]
            name = "b"
            backends = [ { address = "{{b.Address}}" } ]

            [[pools]]
            name = "probe"
            backends = [ { address = "{{probe.Address}}" } ]
            """, loops: loops);
        return new ConformanceRig(a, b, probe, lb);
    }

    /// <summary>"200 a" for a backend's answer (status and body), the bare status for anything else, "closed" for none.</summary>
    public static string Describe(RawHttpResponse? response)
        => response is null ? "closed" : response.Status == 200 ? $"200 {response.BodyText}" : response.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Sends <paramref name="bytes"/> in pieces whose sizes come from <paramref name="nextSize"/> (null: one write),
    /// awaiting each write. Stops quietly when lb has closed the connection: what it did before is the outcome.
    /// </summary>
    public static async Task SendAsync(RawHttpConnection client, byte[] bytes, Func<int>? nextSize, CancellationToken cancellationToken)
    {
        var offset = 0;
        try
        {
            while (offset < bytes.Length)
            {
                var size = nextSize is null ? bytes.Length : Math.Min(nextSize(), bytes.Length - offset);
                await client.SendAsync(bytes.AsMemory(offset, size), cancellationToken);
                offset += size;
            }
        }
        catch (IOException)
        {
        }
        catch (SocketException)
        {
        }
    }

    /// <summary>Stops lb (closing every backend connection), waits until the backends saw every connection end, and returns what each received.</summary>
    public async Task<(string ToA, string ToB)> StopAndCollectAsync(CancellationToken cancellationToken)
    {
        _lbStopped = true;
        await Lb.DisposeAsync();
        await A.WhenConnectionsClosedAsync(cancellationToken);
        await B.WhenConnectionsClosedAsync(cancellationToken);
        return (Encoding.Latin1.GetString(A.ReceivedBytes), Encoding.Latin1.GetString(B.ReceivedBytes));
    }

    /// <summary>Shows control characters, so a failing comparison of wire bytes is readable.</summary>
    public static string Escape(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                < ' ' or > '~' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return builder.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_lbStopped)
        {
            await Lb.DisposeAsync();
        }

        await A.DisposeAsync();
        await B.DisposeAsync();
        await Probe.DisposeAsync();
    }
}
