using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Host;

/// <summary>
/// Binds the admin endpoint and every listener before the host starts, and turns a bind failure into one lb.toml
/// error line: <c>lb.toml:27:10: listeners[0].listen: cannot listen on 127.0.0.1:9101: address already in use</c>.
/// </summary>
internal static class StartupBinder
{
    /// <summary>Null when everything is bound; otherwise the error line (and nothing stays bound).</summary>
    public static async Task<string?> BindAsync(IServiceProvider services, string configPath)
    {
        var engine = services.GetRequiredService<ProxyEngine>();
        var snapshot = engine.Snapshots.Current;
        var admin = services.GetRequiredService<AdminService>();
        try
        {
            admin.Bind();
        }
        catch (SocketException ex)
        {
            return Describe(configPath, "admin.listen", snapshot.AdminEndPoint!.ToString(), ex.SocketErrorCode);
        }

        try
        {
            await services.GetRequiredService<LoadBalancerService>().StartEngineAsync().ConfigureAwait(false);
            return null;
        }
        catch (SocketException ex)
        {
            await admin.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return ListenerFailure(configPath, snapshot, ex, _ => true);
        }
    }

    /// <summary>
    /// The error line for a failed bind of <paramref name="snapshot"/>'s listeners. The engine binds them all or none
    /// and says which by name only, so each candidate is bound once more on its own to find the one that fails (and
    /// why), in file order; <paramref name="candidate"/> leaves out listeners already bound by a running lb.
    /// </summary>
    public static string ListenerFailure(string configPath, RuntimeSnapshot snapshot, SocketException failure, Func<ListenerSnapshot, bool> candidate)
    {
        for (var i = 0; i < snapshot.Listeners.Count; i++)
        {
            var listener = snapshot.Listeners[i];
            if (listener.EndPoint.Port != 0 && candidate(listener) && Probe(listener.EndPoint) is { } error)
            {
                return Describe(configPath, $"listeners[{i}].listen", listener.Listen, error);
            }
        }

        return $"{configPath}:1:1: {failure.Message}";
    }

    private static SocketError? Probe(IPEndPoint endPoint)
    {
        try
        {
            using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(endPoint);
            socket.Listen(1);
            return null;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode;
        }
    }

    private static string Describe(string configPath, string path, string listen, SocketError error)
    {
        var reason = error switch
        {
            SocketError.AddressAlreadyInUse => "address already in use",
            SocketError.AccessDenied => "permission denied (a port below 1024 needs CAP_NET_BIND_SERVICE)",
            SocketError.AddressNotAvailable => "address not available (not an address of this host)",
            _ => new SocketException((int)error).Message,
        };

        string text;
        try
        {
            text = File.ReadAllText(configPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            text = "";
        }

        return ConfigLoader.ErrorAt(text, configPath, path, $"cannot listen on {listen}: {reason}").ToString();
    }
}
