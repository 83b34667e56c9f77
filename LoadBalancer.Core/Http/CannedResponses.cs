namespace LoadBalancer.Core.Http;

/// <summary>
/// Reason phrases and the one constant interim answer. lb's error answers are built from <see cref="LocalReplyCause"/>s
/// (Proxy/LocalReplies), each with a body naming its cause.
/// </summary>
public static class CannedResponses
{
    private static readonly byte[] ContinueBytes = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    /// <summary>The interim answer lb sends itself when the backend is known to speak only HTTP/1.0.</summary>
    public static ReadOnlyMemory<byte> Continue => ContinueBytes;

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
}
