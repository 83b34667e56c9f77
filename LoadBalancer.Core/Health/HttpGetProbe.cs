using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Core.Health;

/// <summary>
/// <c>type = "http"</c>: <c>GET path HTTP/1.1</c> with <c>Connection: close</c> on a fresh raw socket; healthy when a
/// response head arrives in time with a status inside <c>expect</c>. Only the head is read (lb's own response
/// parser); the body is ignored and the connection closed. Not a hot path: it may allocate.
/// </summary>
internal sealed class HttpGetProbe : IHealthProbe
{
    public static readonly HttpGetProbe Instance = new();

    private static readonly HttpLimits Limits = new() { MaxHeadBytes = 16 * 1024, MaxHeaders = 100 };

    public async ValueTask<bool> CheckAsync(IPEndPoint endPoint, string? hostName, HealthCheckSettings settings, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        var buffer = ArrayPool<byte>.Shared.Rent(Limits.MaxHeadBytes);
        try
        {
            SocketIo.Configure(socket);
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await using var tls = settings.Tls is null ? null : new System.Net.Security.SslStream(stream, leaveInnerStreamOpen: true);
            if (tls is not null)
            {
                // The pool's verification applies to its checks too: a backend lb would refuse is not healthy.
                await tls.AuthenticateAsClientAsync(settings.Tls!.ForProbe(endPoint, hostName), cancellationToken).ConfigureAwait(false);
            }

            Stream io = tls is null ? stream : tls;
            var host = settings.Tls?.Sni ?? (hostName is null ? endPoint.ToString() : $"{hostName}:{endPoint.Port}");
            var request = Encoding.ASCII.GetBytes($"GET {settings.Path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lb-health-check\r\nConnection: close\r\n\r\n");
            await io.WriteAsync(request, cancellationToken).ConfigureAwait(false);

            var headers = new HeaderLine[Limits.MaxHeaders];
            var length = 0;
            while (length < Limits.MaxHeadBytes)
            {
                var read = await io.ReadAsync(buffer.AsMemory(length, Limits.MaxHeadBytes - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return false;
                }

                length += read;
                var head = default(HttpMessageHead);
                var status = Http1HeadParser.TryParseResponse(buffer.AsSpan(0, length), Limits, ref head, headers);
                if (status == HeadParseStatus.Complete)
                {
                    // 1xx interim answers are not expected for a GET without Expect; treat them like any status.
                    return head.StatusCode >= settings.ExpectMin && head.StatusCode <= settings.ExpectMax;
                }

                if (status != HeadParseStatus.Incomplete)
                {
                    return false;
                }
            }

            return false;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
