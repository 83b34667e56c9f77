using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Memory per idle keep-alive client connection, by the outside check's method (issue 15), the same for every proxy:
/// one connection sends 200 requests and closes; 2 s settle; RSS. Then N connections are opened one after another,
/// each sends one GET, reads its whole response and stays open; 2 s settle; RSS. The figure is (RSS after - before) / N.
/// The probe then opens N more the same way (2 s settle, RSS): the slope from N to 2N open connections is the
/// per-connection cost without the one-time ones (heap growth, pools, JIT) that the first N also pay.
/// </summary>
internal static class IdleProbe
{
    private const int PrimingRequests = 200;

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    public sealed record IdleResult(int Connections, int Opened, long RssBeforeKib, long RssAfterKib, int OpenedDouble, long RssDoubleKib)
    {
        public double KibPerConnection => Opened == 0 ? double.NaN : (RssAfterKib - RssBeforeKib) / (double)Opened;

        /// <summary>KiB per connection between N and 2N open connections.</summary>
        public double SlopeKib => OpenedDouble <= Opened ? double.NaN : (RssDoubleKib - RssAfterKib) / (double)(OpenedDouble - Opened);
    }

    public static async Task<IdleResult> MeasureAsync(ChildProcess proxy, IPEndPoint endPoint, string host, int connections)
    {
        var request = LoadGenerator.BuildRequest(host, keepAlive: true);
        var buffer = new byte[64 * 1024];
        using (var priming = await ConnectAsync(endPoint).ConfigureAwait(false))
        {
            for (var i = 0; i < PrimingRequests; i++)
            {
                await RequestAsync(priming, request, buffer).ConfigureAwait(false);
            }
        }

        await Task.Delay(Settle).ConfigureAwait(false);
        var before = proxy.RssKib();
        var sockets = new List<Stream>(2 * connections);
        try
        {
            await OpenAsync(sockets, connections, endPoint, request, buffer).ConfigureAwait(false);
            var opened = sockets.Count;
            await Task.Delay(Settle).ConfigureAwait(false);
            var after = proxy.RssKib();
            await OpenAsync(sockets, connections, endPoint, request, buffer).ConfigureAwait(false);
            await Task.Delay(Settle).ConfigureAwait(false);
            var doubled = proxy.RssKib();
            return new IdleResult(connections, opened, before, after, sockets.Count, doubled);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            // Let the proxy notice the closes before the load scenarios.
            await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Opens <paramref name="count"/> connections one after another. The first that fails ends the phase: the proxy
    /// is at its connection limit (HAProxy's maxconn, or the fd limit), and the figures divide by what did open.
    /// </summary>
    private static async Task OpenAsync(List<Stream> sockets, int count, IPEndPoint endPoint, byte[] request, byte[] buffer)
    {
        for (var i = 0; i < count; i++)
        {
            Stream? socket = null;
            try
            {
                socket = await ConnectAsync(endPoint).ConfigureAwait(false);
                await RequestAsync(socket, request, buffer).ConfigureAwait(false);
                sockets.Add(socket);
                socket = null;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or System.Security.Authentication.AuthenticationException)
            {
                Console.WriteLine($"  idle probe: connection {sockets.Count + 1} failed ({ex.Message}); stopping at {sockets.Count} open");
                return;
            }
            finally
            {
                socket?.Dispose();
            }
        }
    }

    /// <summary>A connection as a stream: the socket's own, or TLS over it when the proxies terminate TLS (--tls).</summary>
    private static async Task<Stream> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(endPoint, cts.Token).ConfigureAwait(false);
            var stream = new NetworkStream(socket, ownsSocket: true);
            if (PeerConfigs.Tls is null)
            {
                return stream;
            }

            var tls = new System.Net.Security.SslStream(stream, false, static (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = PeerConfigs.TenantHost(0) }, cts.Token).ConfigureAwait(false);
            return tls;
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>One GET and its whole response (head and Content-Length body).</summary>
    private static async Task RequestAsync(Stream socket, byte[] request, byte[] buffer)
    {
        // A proxy at its connection limit may leave the connection in its backlog: give up on it after 5 s.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var abort = timeout.Token.Register(socket.Dispose);
        await socket.WriteAsync(request).ConfigureAwait(false);
        var (filled, headLength) = await ResponseHead.ReceiveHeadAsync(socket, buffer).ConfigureAwait(false);
        if (!ResponseHead.TryParse(buffer.AsSpan(0, headLength), out var status, out var contentLength, out _) || status != 200)
        {
            throw new SocketException((int)SocketError.ProtocolNotSupported);
        }

        var remaining = contentLength - (filled - headLength);
        while (remaining > 0)
        {
            var read = await socket.ReadAsync(buffer).ConfigureAwait(false);
            if (read == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            remaining -= read;
        }
    }
}
