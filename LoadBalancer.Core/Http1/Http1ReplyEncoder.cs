using System.Globalization;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// Encodes a <see cref="LocalReply"/> as an HTTP/1.1 response: <c>text/plain</c> ("503 Service Unavailable: the
/// tenant's max_in_flight limit is reached") or, for a client that accepts it, <c>application/json</c>
/// (<c>{"error":"max_in_flight","detail":"..."}</c>). Writes into a caller's (pooled) buffer; allocates nothing.
/// </summary>
internal static class Http1ReplyEncoder
{
    /// <summary>An upper bound on an encoded answer: head, detail, subject, challenge.</summary>
    public const int MaxLength = 1024;

    /// <summary>Request-derived bytes beyond this are cut and marked with "...".</summary>
    public const int MaxSubjectBytes = 100;

    private const int MaxBodyBytes = 512;

    /// <summary>The answer for a cause without request-derived parts: encoded once, then only sent.</summary>
    public static ReadOnlyMemory<byte> Constant(LocalReplyCause cause, bool json, bool close)
    {
        var forms = cause.Http1Forms;
        var index = (json ? 2 : 0) + (close ? 1 : 0);
        if (forms[index] is { } encoded)
        {
            return encoded;
        }

        // A benign race: two first refusals may both encode; either array is the same bytes.
        var buffer = new byte[MaxLength];
        var length = Write(new LocalReply(cause), json, close, buffer);
        return forms[index] = buffer[..length];
    }

    public static int Write(in LocalReply reply, bool json, bool close, Span<byte> destination)
    {
        var cause = reply.Cause;
        Span<byte> body = stackalloc byte[MaxBodyBytes];
        var bodyWriter = new SpanWriter(body);
        if (json)
        {
            bodyWriter.Write("{\"error\":\""u8);
            WriteAscii(ref bodyWriter, cause.Code);
            bodyWriter.Write("\",\"detail\":\""u8);
            WriteDetail(ref bodyWriter, reply);
            bodyWriter.Write("\"}\n"u8);
        }
        else
        {
            WriteStatus(ref bodyWriter, cause.Status);
            bodyWriter.Write(": "u8);
            WriteDetail(ref bodyWriter, reply);
            bodyWriter.Write("\n"u8);
        }

        var writer = new SpanWriter(destination);
        writer.Write("HTTP/1.1 "u8);
        WriteStatus(ref writer, cause.Status);
        writer.Write(json ? "\r\nContent-Type: application/json\r\nContent-Length: "u8 : "\r\nContent-Type: text/plain\r\nContent-Length: "u8);
        WriteNumber(ref writer, bodyWriter.Written);
        writer.Write("\r\n"u8);
        if (cause.RetryAfter)
        {
            writer.Write("Retry-After: "u8);
            WriteNumber(ref writer, reply.RetryAfterSeconds > 0 ? reply.RetryAfterSeconds : 1);
            writer.Write("\r\n"u8);
        }

        writer.Write(reply.Lines);

        if (reply.HasChallenge)
        {
            // RFC 9110 section 11.6.1: a 401 MUST carry a challenge. "Bearer" is RFC 6750's scheme; a custom header
            // gets an "ApiKey" challenge naming it, so a client (or its user) can see what to send.
            if (reply.Bearer)
            {
                writer.Write("WWW-Authenticate: Bearer realm=\"lb\"\r\n"u8);
            }
            else
            {
                writer.Write("WWW-Authenticate: ApiKey realm=\"lb\", header=\""u8);
                WriteAscii(ref writer, reply.ChallengeHeader);
                writer.Write("\"\r\n"u8);
            }
        }

        if (close)
        {
            writer.Write("Connection: close\r\n"u8);
        }

        writer.Write("\r\n"u8);
        writer.Write(body[..bodyWriter.Written]);
        return writer.Written;
    }

    private static void WriteDetail(ref SpanWriter writer, in LocalReply reply)
    {
        WriteAscii(ref writer, reply.Cause.Detail);
        if (reply.Bearer)
        {
            writer.Write(" (send Authorization: Bearer <key>)"u8);
        }
        else if (!reply.ChallengeHeader.IsEmpty)
        {
            writer.Write(" (send it in header "u8);
            WriteAscii(ref writer, reply.ChallengeHeader);
            writer.Write(")"u8);
        }

        if (reply.Subject.IsEmpty && reply.Cause.Status != 421)
        {
            return;
        }

        writer.Write(" '"u8);
        var subject = reply.Subject;
        var cut = subject.Length > MaxSubjectBytes;
        foreach (var b in cut ? subject[..MaxSubjectBytes] : subject)
        {
            writer.Write(Sanitize(b));
        }

        if (cut)
        {
            writer.Write("..."u8);
        }

        writer.Write("'"u8);
    }

    /// <summary>The subject as the encoder writes it, for a Debug log line (allocates: call only when that level is on).</summary>
    public static string SanitizedSubject(ReadOnlySpan<byte> subject)
    {
        var cut = subject.Length > MaxSubjectBytes;
        Span<char> chars = stackalloc char[MaxSubjectBytes + 5];
        var length = 0;
        chars[length++] = '\'';
        foreach (var b in cut ? subject[..MaxSubjectBytes] : subject)
        {
            chars[length++] = (char)Sanitize(b);
        }

        if (cut)
        {
            "...".CopyTo(chars[length..]);
            length += 3;
        }

        chars[length++] = '\'';
        return new string(chars[..length]);
    }

    /// <summary>
    /// Printable ASCII only, and nothing that could end the JSON string or the quoting: the bytes are the client's,
    /// and a log, terminal or JSON parser reading the answer must not be steered by them.
    /// </summary>
    private static byte Sanitize(byte b)
        => b is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\' and not (byte)'\'' ? b : (byte)'?';

    private static void WriteStatus(ref SpanWriter writer, int status)
    {
        WriteNumber(ref writer, status);
        writer.Write((byte)' ');
        WriteAscii(ref writer, CannedResponses.ReasonPhrase(status));
    }

    private static void WriteNumber(ref SpanWriter writer, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        writer.Write(digits[..length]);
    }

    private static void WriteAscii(ref SpanWriter writer, ReadOnlySpan<char> text)
    {
        Span<byte> bytes = stackalloc byte[128];
        while (!text.IsEmpty)
        {
            var take = Math.Min(text.Length, bytes.Length);
            var written = Encoding.ASCII.GetBytes(text[..take], bytes);
            writer.Write(bytes[..written]);
            text = text[take..];
        }
    }
}
