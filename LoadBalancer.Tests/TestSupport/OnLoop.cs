using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Engine;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// Runs code on a given epoll loop's thread: a listener on the engine accepts on every loop, and the connection that
/// the kernel hands to the wanted loop runs the code in its accept handler, on that loop.
/// </summary>
internal static class OnLoop
{
    public static async Task<T> RunAsync<T>(SocketEngine engine, int loopIndex, Func<T> action, CancellationToken cancellationToken)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = ListenerSockets.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        var accepting = listener.Start(channel =>
        {
            if (EpollLoop.CurrentThread?.Index == loopIndex && !result.Task.IsCompleted)
            {
                try
                {
                    result.TrySetResult(action());
                }
                catch (Exception ex)
                {
                    result.TrySetException(ex);
                }
            }

            channel.Dispose();
        });
        Assert.That(accepting, Is.Null, "the epoll engine accepts on its loops");

        var clients = new List<Socket>();
        try
        {
            while (!result.Task.IsCompleted && clients.Count < 1000)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(listener.BoundEndPoint, cancellationToken);

                // Let the loop accept before the next connect, so that few connections are made.
                await Task.WhenAny(result.Task, Task.Delay(5, cancellationToken));
            }

            return await result.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    public static Task RunAsync(SocketEngine engine, int loopIndex, Action action, CancellationToken cancellationToken)
        => RunAsync(engine, loopIndex, () => { action(); return true; }, cancellationToken);
}
