using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// One request to lb's admin listener on its own connection (<c>Connection: close</c>, read to the end): the admin
/// endpoint is lb's own strict HTTP/1.1 code, and a raw socket keeps HttpClient's pooling and retries out of the figures.
/// </summary>
internal static class AdminClient
{
    public readonly record struct Response(int Status, string Body);

    /// <summary>What one request may take unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <param name="timeout"><see cref="DefaultTimeout"/> when null; a reload or /metrics of 100,000 tenants takes longer.</param>
    public static Task<Response> SendAsync(IPEndPoint admin, string method, string path, TimeSpan? timeout = null) => SendAsync(admin, method, path, "lb", timeout);

    /// <summary>The same request with another Host, e.g. a tenant's name sent to lb's proxy listener.</summary>
    public static async Task<Response> SendAsync(IPEndPoint admin, string method, string path, string host, TimeSpan? timeout = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        await socket.ConnectAsync(admin, cts.Token).ConfigureAwait(false);
        var body = method == "GET" ? "" : "Content-Length: 0\r\n";
        var request = Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{body}Connection: close\r\n\r\n");
        await socket.SendAsync(request, SocketFlags.None, cts.Token).ConfigureAwait(false);
        var response = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false)) > 0)
        {
            response.Write(buffer, 0, read);
        }

        var text = Encoding.UTF8.GetString(response.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0 || !text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) || text.Length < 12
            || !int.TryParse(text.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new InvalidOperationException($"admin {method} {path}: not an HTTP/1.1 response");
        }

        return new Response(status, text[(end + 4)..]);
    }
}
