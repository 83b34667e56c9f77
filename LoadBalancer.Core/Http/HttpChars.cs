using System.Buffers;

namespace LoadBalancer.Core.Http;

/// <summary>Byte classes from RFC 9110/9112/3986, as vectorizable <see cref="SearchValues{T}"/>.</summary>
internal static class HttpChars
{
    /// <summary>tchar (RFC 9110 section 5.6.2): methods, field names, codings, connection options.</summary>
    public static readonly SearchValues<byte> Token =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>
    /// CTLs other than HTAB: none may appear in a field value or reason phrase (RFC 9110 section 5.5), so the first hit
    /// in a value must be the CR of its CRLF. NUL, bare CR, bare LF and DEL all stop here.
    /// </summary>
    public static readonly SearchValues<byte> ValueStop = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\n\u000B\u000C\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F"u8);

    /// <summary>
    /// Bytes allowed in a request-target: VCHAR except '#'. RFC 9112 section 3.2 forms carry no fragment, and no CTL, SP
    /// or non-ASCII byte may appear (RFC 3986 section 2), so anything else is a 400 rather than something to guess about.
    /// </summary>
    public static readonly SearchValues<byte> Target =
        SearchValues.Create("!\"$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"u8);

    /// <summary>reg-name bytes (RFC 3986 section 3.2.2): unreserved, sub-delims and '%' of pct-encoded.</summary>
    public static readonly SearchValues<byte> RegName =
        SearchValues.Create("!$&'()*+,;=-._~%0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    public static bool IsTchar(byte b) => Token.Contains(b);

    public static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    public static bool IsHex(byte b) => (uint)(b - '0') <= 9 || (uint)((b | 0x20) - 'a') <= 'f' - 'a';

    public static int HexValue(byte b) => (uint)(b - '0') <= 9 ? b - '0' : (b | 0x20) - 'a' + 10;

    /// <summary>OWS/BWS (RFC 9110 section 5.6.3).</summary>
    public static bool IsWhitespace(byte b) => b == (byte)' ' || b == (byte)'\t';
}
