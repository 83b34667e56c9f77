using System.Diagnostics;
using LoadBalancer.Core.Engine;

namespace LoadBalancer.Tests.Unit.Transport;

/// <summary>The engine is an object, not static state: each one has its own loop threads, and disposing it stops them.</summary>
[TestFixture]
public sealed class SocketEngineTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task Dispose_StopsTheLoopThreads(CancellationToken cancellationToken)
    {
        if (!SocketEngine.EpollSupported)
        {
            Assert.Ignore("the epoll engine needs Linux on x86-64");
        }

        var before = LoopThreads();
        var engine = SocketEngine.Create(SocketEngineKind.Epoll);
        Assert.That(engine.LoopCount, Is.EqualTo(Environment.ProcessorCount));
        Assert.That(LoopThreads(), Is.EqualTo(before + engine.LoopCount));

        engine.Dispose();
        while (LoopThreads() != before)
        {
            await Task.Delay(10, cancellationToken);
        }
    }

    [Test]
    public void Create_DotnetEngine_HasNoLoops()
    {
        using var engine = SocketEngine.Create(SocketEngineKind.Dotnet);
        Assert.That(engine.UsesEpoll, Is.False);
        Assert.That(engine.LoopCount, Is.Zero);
    }

    /// <summary>Threads of this process named like loop threads, from /proc (managed Thread objects are not enumerable).</summary>
    private static int LoopThreads()
    {
        var count = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{Environment.ProcessId}/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith("lb-epoll-", StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }

        return count;
    }
}
