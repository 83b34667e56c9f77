using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Memory per idle keep-alive client connection: RSS before, then N connections that each complete one request and
/// stay open and idle, then RSS again after a settle time; (after - before) / N.
/// </summary>
internal static class IdleProbe
{
    public sealed record IdleResult(int Connections, int Opened, long RssBeforeKib, long RssAfterKib)
    {
        public double KibPerConnection => Opened == 0 ? double.NaN : (RssAfterKib - RssBeforeKib) / (double)Opened;
    }

    public static async Task<IdleResult> MeasureAsync(ChildProcess proxy, IPEndPoint endPoint, string host, int connections)
    {
        await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        var before = proxy.RssKib();
        var request = LoadGenerator.BuildRequest(host, keepAlive: true);
        var sockets = new Socket?[connections];
        var next = -1;
        var opened = 0;
        async Task OpenAsync()
        {
            var buffer = new byte[4096];
            int i;
            while ((i = Interlocked.Increment(ref next)) < connections)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(endPoint).ConfigureAwait(false);
                    await socket.SendAsync(request, SocketFlags.None).ConfigureAwait(false);
                    var filled = 0;
                    while (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) < 0)
                    {
                        var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false);
                        if (read == 0)
                        {
                            throw new SocketException((int)SocketError.ConnectionReset);
                        }

                        filled += read;
                    }

                    sockets[i] = socket;
                    Interlocked.Increment(ref opened);
                }
                catch (SocketException)
                {
                    socket.Dispose();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => OpenAsync())).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        var after = proxy.RssKib();
        foreach (var socket in sockets)
        {
            socket?.Dispose();
        }

        // Let the proxy notice the closes before the next measurement.
        await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        return new IdleResult(connections, opened, before, after);
    }
}
