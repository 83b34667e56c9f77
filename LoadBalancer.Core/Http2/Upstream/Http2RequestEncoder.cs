using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http2.Hpack;

namespace LoadBalancer.Core.Http2.Upstream;

/// <summary>
/// Encodes the request head lb forwards (the HTTP/1 head both client codecs produce, edits applied) as an HTTP/2 header
/// block for an h2 backend (RFC 9113 section 8.3.1): :method, :scheme, :authority from Host, :path, then every field
/// but Host and the connection-specific ones, names lowercased. TE goes only as "trailers"; Expect stays with lb, which
/// answers 100 Continue itself (an HTTP/2 backend's 100 would come as a HEADERS frame lb does not relay).
/// </summary>
internal static class Http2RequestEncoder
{
    /// <summary>The block's size bound for a head of <paramref name="headLength"/> bytes and <paramref name="fieldCount"/> fields.</summary>
    public static int MaxLength(int headLength, int fieldCount) => (2 * headLength) + (HpackEncoder.MaxEncodedLength(10, 5) * (fieldCount + 4)) + 64;

    public static int Encode(ReadOnlySpan<byte> source, in HttpMessageHead head, ReadOnlySpan<HeaderLine> headers, bool https, Span<byte> destination)
    {
        var w = HpackEncoder.Encode(":method"u8, source.Slice(head.MethodStart, head.MethodLength), neverIndexed: false, destination);
        w += HpackEncoder.Encode(":scheme"u8, https ? "https"u8 : "http"u8, neverIndexed: false, destination[w..]);
        var target = source.Slice(head.TargetStart, head.TargetLength);
        ReadOnlySpan<byte> authority = default;
        if (head.AbsoluteForm)
        {
            // "http://host/path": the path starts at the first '/' after the authority ("*"-less origin otherwise).
            authority = source.Slice(head.AuthorityStart, head.AuthorityLength);
            var afterScheme = target.IndexOf("//"u8);
            var rest = afterScheme < 0 ? target : target[(afterScheme + 2)..];
            var slash = rest.IndexOfAny((byte)'/', (byte)'?');
            target = slash < 0 ? "/"u8 : rest[slash..];
        }

        foreach (ref readonly var field in headers)
        {
            if (field.Kind == HeaderKind.Host && authority.IsEmpty)
            {
                authority = source.Slice(field.ValueStart, field.ValueLength);
            }
        }

        w += HpackEncoder.Encode(":authority"u8, authority, neverIndexed: false, destination[w..]);
        w += HpackEncoder.Encode(":path"u8, target, neverIndexed: false, destination[w..]);
        Span<byte> lower = stackalloc byte[256];
        foreach (ref readonly var field in headers)
        {
            var value = source.Slice(field.ValueStart, field.ValueLength);
            switch (field.Kind)
            {
                case HeaderKind.Host or HeaderKind.Connection or HeaderKind.KeepAlive or HeaderKind.ProxyConnection
                    or HeaderKind.TransferEncoding or HeaderKind.Upgrade or HeaderKind.Expect:
                    continue;
                case HeaderKind.TE when !System.Text.Ascii.EqualsIgnoreCase(value, "trailers"u8):
                    continue;
            }

            var name = source.Slice(field.NameStart, field.NameLength);
            if (name.Length > lower.Length || System.Text.Ascii.EqualsIgnoreCase(name, "http2-settings"u8))
            {
                continue;
            }

            var lowered = lower[..name.Length];
            System.Text.Ascii.ToLower(name, lowered, out _);
            var n = HpackEncoder.Encode(lowered, value, neverIndexed: false, destination[w..]);
            if (n < 0)
            {
                return -1;
            }

            w += n;
        }

        return w;
    }
}
