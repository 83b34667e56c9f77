using System.Net;
using LoadBalancer.Core.Demo;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>In-process whoami backends on ephemeral loopback ports; each answers with its name in X-Backend.</summary>
public sealed class TestBackends : IAsyncDisposable
{
    private readonly Dictionary<string, WhoamiServer> _servers = new(StringComparer.Ordinal);

    public static TestBackends Start(params string[] names)
    {
        var backends = new TestBackends();
        foreach (var name in names)
        {
            backends._servers[name] = WhoamiServer.Start(new IPEndPoint(IPAddress.Loopback, 0), name);
        }

        return backends;
    }

    /// <summary>"127.0.0.1:PORT" of a backend, for lb.toml.</summary>
    public string Address(string name) => $"127.0.0.1:{_servers[name].EndPoint.Port}";

    public WhoamiServer this[string name] => _servers[name];

    /// <summary>An address where nothing listens (bound then released), for dead-backend tests.</summary>
    public static string DeadAddress()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return $"127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}";
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers.Values)
        {
            await server.DisposeAsync();
        }
    }
}
