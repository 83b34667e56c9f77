using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Health;

/// <summary><c>type = "tcp"</c>: healthy when a TCP connect completes in time; the connection is closed at once.</summary>
internal sealed class TcpConnectProbe : IHealthProbe
{
    public static readonly TcpConnectProbe Instance = new();

    public async ValueTask<bool> CheckAsync(IPEndPoint endPoint, string? hostName, HealthCheckSettings settings, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
