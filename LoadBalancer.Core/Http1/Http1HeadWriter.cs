using System.Globalization;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// Writes the head lb forwards, from a parsed head: hop-by-hop fields removed (RFC 9110 section 7.6.1), the Host made
/// to agree with an absolute-form target, X-Forwarded-* appended. Works on spans only; the caller sizes the output
/// with <see cref="MaxRequestGrowth"/>.
/// </summary>
internal static class Http1HeadWriter
{
    /// <summary>Bytes a forwarded request head can grow by, beyond twice the authority (Host line and X-Forwarded-Host).</summary>
    public const int MaxRequestGrowth = 256;

    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    /// <summary>The output size <see cref="WriteRequest"/> needs for <paramref name="head"/> with these edits.</summary>
    public static int RequestCapacity(in HttpMessageHead head, int clientIpLength, in HeaderEdits edits)
        => head.HeadLength + (2 * head.AuthorityLength) + clientIpLength + MaxRequestGrowth + edits.AddedBytes;

    public static int RequestLineEnd(in HttpMessageHead head, ReadOnlySpan<HeaderLine> headers)
        => head.HeaderCount > 0 ? headers[0].LineStart : head.HeadLength - 2;

    public static int WriteRequest(
        ReadOnlySpan<byte> source,
        in HttpMessageHead head,
        ReadOnlySpan<HeaderLine> headers,
        in UpgradeOffer upgrade,
        bool addForwarded,
        bool trustForwarded,
        ReadOnlySpan<byte> clientIp,
        Span<byte> destination,
        in HeaderEdits edits = default,
        bool https = false)
    {
        var writer = new SpanWriter(destination);
        var lineEnd = RequestLineEnd(head, headers);
        var authority = source.Slice(head.AuthorityStart, head.AuthorityLength);

        if (head.AbsoluteForm)
        {
            // RFC 9112 section 3.2.2: a proxy sends origin-form to the origin; the authority moves into Host.
            var target = source.Slice(head.TargetStart, head.TargetLength);
            var afterScheme = target.IndexOf("://"u8) + 3;
            var pathStart = target[afterScheme..].IndexOfAny((byte)'/', (byte)'?');
            writer.Write(source.Slice(head.MethodStart, head.MethodLength));
            writer.Write((byte)' ');
            var path = pathStart < 0 ? default : target[(afterScheme + pathStart)..];
            if (!edits.Path.IsNone)
            {
                writer.Advance(edits.Path.Write(path, writer.Free));
            }
            else if (path.IsEmpty)
            {
                writer.Write((byte)'/');
            }
            else
            {
                if (path[0] == (byte)'?')
                {
                    writer.Write((byte)'/');
                }

                writer.Write(path);
            }

            writer.Write((byte)' ');
            writer.Write(Http11Line);
            writer.Write("Host: "u8);
            writer.Write(edits.RewritesHost ? edits.Host : authority);
            writer.Write(Crlf);
        }
        else
        {
            // The request line ends in "HTTP/1.x" CRLF (the parser checked): everything before it is kept, unless a
            // route rewrites the path (the target is then the one part written anew).
            if (edits.Path.IsNone)
            {
                writer.Write(source[head.MethodStart..(lineEnd - 10)]);
            }
            else
            {
                writer.Write(source.Slice(head.MethodStart, head.MethodLength));
                writer.Write((byte)' ');
                writer.Advance(edits.Path.Write(source.Slice(head.TargetStart, head.TargetLength), writer.Free));
                writer.Write((byte)' ');
            }

            if (edits.RewritesHost)
            {
                // A route's host: the backend gets it in place of the client's (X-Forwarded-Host keeps the client's).
                writer.Write(Http11Line);
                writer.Write("Host: "u8);
                writer.Write(edits.Host);
                writer.Write(Crlf);
            }
            else if (Has(headers[..head.HeaderCount], HeaderKind.Host))
            {
                writer.Write(Http11Line);
            }
            else
            {
                // Only HTTP/1.0 may omit Host. HTTP/1.1 requires one, and the empty Host of RFC 9112 section 3.2 is
                // refused (400) by nginx among others, so such a request stays HTTP/1.0 and asks for keep-alive itself.
                writer.Write("HTTP/1.0\r\nConnection: keep-alive\r\n"u8);
            }
        }

        var hasConnectionOptions = HasConnectionOptions(source, headers[..head.HeaderCount]);
        var framingWritten = false;
        for (var i = 0; i < head.HeaderCount; i++)
        {
            ref readonly var header = ref headers[i];
            if (header.Kind is HeaderKind.ContentLength or HeaderKind.TransferEncoding)
            {
                // The framing lb decided on is sent as one canonical field where the first framing field was: equal
                // Content-Length duplicates, leading zeros, "Chunked", OWS tricks or an empty extra Transfer-Encoding
                // line could otherwise be read differently by a laxer backend (RFC 9112 section 6.3, TE.TE smuggling).
                if (!framingWritten)
                {
                    WriteFraming(ref writer, head);
                    framingWritten = true;
                }

                continue;
            }

            var skip = header.Kind switch
            {
                HeaderKind.Connection or HeaderKind.KeepAlive or HeaderKind.ProxyConnection or HeaderKind.TE or HeaderKind.Trailer => true,
                // Rewritten below with only the allowed protocols (never h2c), or dropped.
                HeaderKind.Upgrade => true,
                HeaderKind.Host => head.AbsoluteForm || edits.RewritesHost,
                // Client-supplied values are stripped unless the listener trusts its upstream, whether or not lb adds its own.
                HeaderKind.XForwardedFor or HeaderKind.XForwardedProto or HeaderKind.XForwardedHost => !trustForwarded,
                // Only lb says which client certificate was verified (the edits carry its own lines), on every listener.
                HeaderKind.XClientCertSubject or HeaderKind.XClientCertSha256 => true,
                _ => IsHttp2Settings(source.Slice(header.NameStart, header.NameLength))
                    || (hasConnectionOptions && IsListedInConnection(source, headers[..head.HeaderCount], source.Slice(header.NameStart, header.NameLength))),
            };
            if (!skip && !edits.Drops(i, source.Slice(header.NameStart, header.NameLength)))
            {
                writer.Write(source.Slice(header.LineStart, header.LineLength));
            }
        }

        WriteAdded(ref writer, edits);
        if (!upgrade.IsEmpty)
        {
            upgrade.Write(ref writer, source, headers[..head.HeaderCount]);
        }

        if (addForwarded)
        {
            writer.Write("X-Forwarded-For: "u8);
            writer.Write(clientIp);
            writer.Write(Crlf);
            if (!trustForwarded || !Has(headers[..head.HeaderCount], HeaderKind.XForwardedProto))
            {
                writer.Write(https ? "X-Forwarded-Proto: https\r\n"u8 : "X-Forwarded-Proto: http\r\n"u8);
            }

            if (authority.Length > 0 && (!trustForwarded || !Has(headers[..head.HeaderCount], HeaderKind.XForwardedHost)))
            {
                writer.Write("X-Forwarded-Host: "u8);
                writer.Write(authority);
                writer.Write(Crlf);
            }
        }

        writer.Write(Crlf);
        return writer.Written;
    }

    /// <summary>
    /// Writes a final response head with hop-by-hop fields replaced by lb's own Connection decision. With
    /// <paramref name="dechunk"/> (a chunked response to an HTTP/1.0 client, which cannot parse chunked framing) the
    /// Transfer-Encoding and Trailer fields are dropped: the body goes de-chunked and close-delimited, so the caller
    /// passes <paramref name="closeClient"/> true.
    /// </summary>
    public static int WriteResponse(
        ReadOnlySpan<byte> source,
        in HttpMessageHead head,
        ReadOnlySpan<HeaderLine> headers,
        bool closeClient,
        bool clientIsHttp10,
        Span<byte> destination,
        bool dechunk = false,
        in HeaderEdits edits = default)
    {
        var writer = new SpanWriter(destination);
        var lineEnd = head.HeaderCount > 0 ? headers[0].LineStart : head.HeadLength - 2;
        writer.Write(source[..lineEnd]);
        var hasConnectionOptions = HasConnectionOptions(source, headers[..head.HeaderCount]);
        var lengthWritten = false;
        for (var i = 0; i < head.HeaderCount; i++)
        {
            ref readonly var header = ref headers[i];
            if (header.Kind == HeaderKind.ContentLength)
            {
                // Equal duplicates ("2, 2", two lines, "002") reach the client as the one value lb framed the body by.
                if (!lengthWritten)
                {
                    WriteContentLength(ref writer, head.ContentLength);
                    lengthWritten = true;
                }

                continue;
            }

            var skip = header.Kind switch
            {
                HeaderKind.Connection or HeaderKind.KeepAlive or HeaderKind.ProxyConnection => true,
                HeaderKind.TransferEncoding or HeaderKind.Trailer => dechunk,
                _ => hasConnectionOptions && IsListedInConnection(source, headers[..head.HeaderCount], source.Slice(header.NameStart, header.NameLength)),
            };
            if (!skip && !edits.Drops(i, source.Slice(header.NameStart, header.NameLength)))
            {
                writer.Write(source.Slice(header.LineStart, header.LineLength));
            }
        }

        WriteAdded(ref writer, edits);
        if (closeClient)
        {
            writer.Write("Connection: close\r\n"u8);
        }
        else if (clientIsHttp10)
        {
            writer.Write("Connection: keep-alive\r\n"u8);
        }

        writer.Write(Crlf);
        return writer.Written;
    }

    /// <summary>
    /// The version lb forwards with CRLF: its own, HTTP/1.1 (RFC 9110 section 2.5: an intermediary sends its own
    /// version). An HTTP/1.0 request thus reaches the backend as HTTP/1.1 on a keep-alive connection; the response is
    /// fitted back to the 1.0 client (see <see cref="WriteResponse"/>). The one exception is a 1.0 request without Host.
    /// </summary>
    private static ReadOnlySpan<byte> Http11Line => "HTTP/1.1\r\n"u8;

    /// <summary>The transform's set and added fields, after the message's own (the caller sized the output with AddedBytes).</summary>
    private static void WriteAdded(ref SpanWriter writer, in HeaderEdits edits)
    {
        writer.Write(edits.Lines.Span);
        if (edits.Transform is not { } transform)
        {
            return;
        }

        foreach (var (name, value) in transform.Added)
        {
            writer.Write(name);
            writer.Write(": "u8);
            writer.Write(value);
            writer.Write(Crlf);
        }
    }

    /// <summary>"Transfer-Encoding: chunked" or "Content-Length: N" (the parser refuses requests with both).</summary>
    private static void WriteFraming(ref SpanWriter writer, in HttpMessageHead head)
    {
        if (head.Chunked)
        {
            writer.Write("Transfer-Encoding: chunked\r\n"u8);
            return;
        }

        WriteContentLength(ref writer, head.ContentLength);
    }

    private static void WriteContentLength(ref SpanWriter writer, long contentLength)
    {
        if (contentLength < 0)
        {
            return;
        }

        Span<byte> digits = stackalloc byte[20];
        contentLength.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        writer.Write("Content-Length: "u8);
        writer.Write(digits[..length]);
        writer.Write(Crlf);
    }

    /// <summary>HTTP2-Settings only ever accompanies an h2c upgrade, which lb never forwards (RFC 9113 section 3.1).</summary>
    private static bool IsHttp2Settings(ReadOnlySpan<byte> name)
        => name.Length == 14 && Ascii.EqualsIgnoreCase(name, "http2-settings"u8);

    private static bool Has(ReadOnlySpan<HeaderLine> headers, HeaderKind kind)
    {
        foreach (ref readonly var header in headers)
        {
            if (header.Kind == kind)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when a Connection header names something besides close/keep-alive/upgrade (rare; skips the per-field scan).</summary>
    private static bool HasConnectionOptions(ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers)
    {
        foreach (ref readonly var header in headers)
        {
            if (header.Kind != HeaderKind.Connection)
            {
                continue;
            }

            var value = source.Slice(header.ValueStart, header.ValueLength);
            foreach (var range in value.Split((byte)','))
            {
                var token = value[range].Trim(" \t"u8);
                if (token.Length > 0
                    && !Ascii.EqualsIgnoreCase(token, "close"u8)
                    && !Ascii.EqualsIgnoreCase(token, "keep-alive"u8)
                    && !Ascii.EqualsIgnoreCase(token, "upgrade"u8))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsListedInConnection(ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers, ReadOnlySpan<byte> name)
    {
        foreach (ref readonly var header in headers)
        {
            if (header.Kind != HeaderKind.Connection)
            {
                continue;
            }

            var value = source.Slice(header.ValueStart, header.ValueLength);
            foreach (var range in value.Split((byte)','))
            {
                if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), name))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
