using System.Buffers;
using System.Text;
using System.Text.Json;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Tests.Unit.Metrics;

/// <summary>
/// The access-log writer drains its queue in batches and sleeps while idle: a line after an idle period is still
/// written, every line is counted once (written or dropped), and a device that refuses writes (a full disk) drops
/// and counts its lines without stopping the writer.
/// </summary>
[TestFixture]
public sealed class AccessLogWriterTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task LinesAfterAnIdlePeriod_AreWritten_CountedOnce_Latin1PathKept(CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"lb-access-{Guid.NewGuid():N}.log");
        try
        {
            var writer = new AccessLogWriter(path);
            for (var i = 0; i < 3; i++)
            {
                Assert.That(writer.TryWrite(Entry("GET", "/first-" + i)), Is.True);
            }

            await WaitUntil(() => writer.Written == 3, cancellationToken);

            // The writer parks after a tick that finds nothing; the next line must wake it.
            await WaitUntil(() => writer.IsParked, cancellationToken);
            Assert.That(writer.TryWrite(Entry("POST", "/caf\u00e9")), Is.True);
            await WaitUntil(() => writer.Written == 4, cancellationToken);
            await writer.DisposeAsync();

            var lines = await File.ReadAllLinesAsync(path, cancellationToken);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(lines, Has.Length.EqualTo(4));
                using var last = JsonDocument.Parse(lines[3]);
                Assert.That(last.RootElement.GetProperty("method").GetString(), Is.EqualTo("POST"));
                Assert.That(last.RootElement.GetProperty("path").GetString(), Is.EqualTo("/caf\u00e9"), "obs-text bytes are Latin-1");
                Assert.That(last.RootElement.GetProperty("client").GetString(), Is.EqualTo("127.0.0.1"));
                Assert.That(writer.Dropped, Is.Zero);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task DeviceFull_LinesDroppedAndCounted_WriterKeepsTaking(CancellationToken cancellationToken)
    {
        if (!File.Exists("/dev/full"))
        {
            Assert.Ignore("needs /dev/full (Linux)");
        }

        var writer = new AccessLogWriter("/dev/full");
        for (var i = 0; i < 5; i++)
        {
            writer.TryWrite(Entry("GET", "/" + i));
        }

        await WaitUntil(() => writer.Dropped == 5, cancellationToken);
        Assert.That(writer.TryWrite(Entry("GET", "/after")), Is.True, "the writer survives a failed write");
        await WaitUntil(() => writer.Dropped == 6, cancellationToken);
        await writer.DisposeAsync();
        Assert.That(writer.Written, Is.Zero);
    }

    private static AccessLogEntry Entry(string method, string target)
    {
        var line = ArrayPool<byte>.Shared.Rent(method.Length + target.Length * 2);
        var length = Encoding.Latin1.GetBytes(method + target, line);
        return new AccessLogEntry
        {
            TimeUtcTicks = DateTime.UtcNow.Ticks,
            Tenant = "t",
            ClientIp = "127.0.0.1"u8.ToArray(),
            RequestLine = line,
            MethodLength = method.Length,
            TargetLength = length - method.Length,
            Status = 200,
            CloseReason = CloseReason.None,
        };
    }

    private static async Task WaitUntil(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(5, cancellationToken);
        }
    }
}
