using LoadBalancer.Core.Engine;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>A fixture whose tests each get a fresh epoll engine with two loops (ignored where epoll is not supported).</summary>
public abstract class TwoLoopEngineFixture
{
    protected SocketEngine Engine { get; private set; } = null!;

    [SetUp]
    public void CreateEngine()
    {
        if (!SocketEngine.EpollSupported)
        {
            Assert.Ignore("the epoll engine needs Linux on x86-64");
        }

        Engine = SocketEngine.Create(SocketEngineKind.Epoll, loops: 2);
    }

    [TearDown]
    public void DisposeEngine() => Engine?.Dispose();
}
