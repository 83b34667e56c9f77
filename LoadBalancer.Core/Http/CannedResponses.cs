using System.Text;

namespace LoadBalancer.Core.Http;

/// <summary>Pre-encoded answers lb gives itself. Each closes the connection unless stated otherwise.</summary>
public static class CannedResponses
{
    private static readonly byte[][] ByStatus = Build(close: true);
    private static readonly byte[][] ByStatusKeepAlive = Build(close: false);
    private static readonly byte[] ContinueBytes = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    /// <summary>The interim answer lb sends itself when the backend is known to speak only HTTP/1.0.</summary>
    public static ReadOnlyMemory<byte> Continue => ContinueBytes;

    /// <summary>The full response bytes for one of lb's own error statuses (falls back to 500).</summary>
    public static ReadOnlyMemory<byte> For(int status)
        => (uint)status < (uint)ByStatus.Length && ByStatus[status] is { } bytes ? bytes : ByStatus[500];

    /// <summary>
    /// The same answer without <c>Connection: close</c>, for refusals of body-less HTTP/1.1 requests (401, 403,
    /// 429): the connection is positioned at the next request, and closing it would make a flood of refused requests
    /// cost a TCP handshake each.
    /// </summary>
    public static ReadOnlyMemory<byte> ForKeepAlive(int status)
        => (uint)status < (uint)ByStatusKeepAlive.Length && ByStatusKeepAlive[status] is { } bytes ? bytes : For(status);

    public static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        200 => "OK",
        202 => "Accepted",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        421 => "Misdirected Request",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };

    private static byte[][] Build(bool close)
    {
        var table = new byte[600][];
        foreach (var status in new[] { 400, 401, 403, 404, 405, 408, 411, 413, 414, 421, 429, 431, 500, 501, 502, 503, 504, 505 })
        {
            var reason = ReasonPhrase(status);
            var body = $"{status} {reason}\n";
            var retryAfter = status is 429 or 503 ? "Retry-After: 1\r\n" : "";
            var text = $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n{retryAfter}{(close ? "Connection: close\r\n" : "")}\r\n{body}";
            table[status] = Encoding.ASCII.GetBytes(text);
        }

        return table;
    }
}
