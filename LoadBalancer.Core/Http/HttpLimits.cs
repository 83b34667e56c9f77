namespace LoadBalancer.Core.Http;

/// <summary>Per-listener caps on a request head (lb.toml <c>limits = { max_head_bytes, max_headers }</c>).</summary>
public sealed record HttpLimits
{
    public static readonly HttpLimits Default = new();

    /// <summary>Whole head (request line + headers + final CRLF); over it: 431 (or 414 when the request line alone is over).</summary>
    public int MaxHeadBytes { get; init; } = 16 * 1024;

    /// <summary>Header field count; over it: 431.</summary>
    public int MaxHeaders { get; init; } = 100;
}
