using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http2.Hpack;

namespace LoadBalancer.Core.Http2;

/// <summary>
/// lb's own answers to a gRPC request, in gRPC's form: HTTP 200 and a trailers-only response (one HEADERS block with
/// END_STREAM) carrying <c>grpc-status</c> and <c>grpc-message</c>, because a gRPC client reads the status from
/// there and treats a bare 503 or an HTML body as a protocol error. The status follows gRPC's own HTTP mapping
/// (doc/http-grpc-status-mapping.md), except that every limit and quota is RESOURCE_EXHAUSTED (8), as issue 16 asks.
/// </summary>
internal static class GrpcReply
{
    public const int Unknown = 2;
    public const int DeadlineExceeded = 4;
    public const int PermissionDenied = 7;
    public const int ResourceExhausted = 8;
    public const int Unimplemented = 12;
    public const int Internal = 13;
    public const int Unavailable = 14;
    public const int Unauthenticated = 16;

    /// <summary>application/grpc, alone or with a subtype (+proto, +json) or parameters: gRPC over HTTP/2, not gRPC-Web.</summary>
    public static bool IsGrpc(ReadOnlySpan<byte> contentType)
    {
        var prefix = "application/grpc"u8;
        return contentType.Length >= prefix.Length
            && System.Text.Ascii.EqualsIgnoreCase(contentType[..prefix.Length], prefix)
            && (contentType.Length == prefix.Length || contentType[prefix.Length] is (byte)'+' or (byte)';');
    }

    public static int StatusFor(LocalReplyCause cause) => cause.Status switch
    {
        429 or 413 => ResourceExhausted,
        503 when cause.Code is "max_connections" or "max_in_flight" => ResourceExhausted,
        502 or 503 or 421 => Unavailable,
        504 or 408 => DeadlineExceeded,
        401 => Unauthenticated,
        403 => PermissionDenied,
        404 or 405 => Unimplemented,
        400 or 500 => Internal,
        _ => Unknown,
    };

    /// <summary>
    /// The trailers-only block: :status 200, content-type, grpc-status, grpc-message (the cause's constant code and
    /// detail, percent-encoded as gRPC requires), then <paramref name="lines"/> (RateLimit headers) as fields.
    /// </summary>
    public static int Encode(LocalReplyCause cause, Span<byte> block)
    {
        var w = HpackEncoder.Encode(":status"u8, "200"u8, neverIndexed: false, block);
        w += HpackEncoder.Encode("content-type"u8, "application/grpc"u8, neverIndexed: false, block[w..]);
        Span<byte> digits = stackalloc byte[2];
        var status = StatusFor(cause);
        var length = status >= 10 ? 2 : 1;
        if (length == 2)
        {
            digits[0] = (byte)('0' + (status / 10));
        }

        digits[length - 1] = (byte)('0' + (status % 10));
        w += HpackEncoder.Encode("grpc-status"u8, digits[..length], neverIndexed: false, block[w..]);
        Span<byte> message = stackalloc byte[512];
        var m = PercentEncode(cause.Code, message);
        message[m++] = (byte)':';
        message[m++] = (byte)' ';
        m += PercentEncode(cause.Detail, message[m..]);
        w += HpackEncoder.Encode("grpc-message"u8, message[..m], neverIndexed: false, block[w..]);
        return w;
    }

    /// <summary>Bound for <see cref="Encode"/>'s block.</summary>
    public const int MaxBlockLength = 1024;

    /// <summary>gRPC's grpc-message encoding: printable ASCII but '%' as it is, every other byte as %XX (cut to fit).</summary>
    private static int PercentEncode(string text, Span<byte> destination)
    {
        var w = 0;
        foreach (var c in text)
        {
            if (w + 3 > destination.Length - 2)
            {
                break;
            }

            if (c is >= ' ' and <= '~' and not '%')
            {
                destination[w++] = (byte)c;
            }
            else
            {
                var b = c > 0xFF ? (byte)'?' : (byte)c;
                destination[w++] = (byte)'%';
                destination[w++] = (byte)"0123456789ABCDEF"[b >> 4];
                destination[w++] = (byte)"0123456789ABCDEF"[b & 0xF];
            }
        }

        return w;
    }
}
