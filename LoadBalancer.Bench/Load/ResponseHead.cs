using System.Net.Sockets;
using System.Buffers.Text;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>Just enough of a response head for the generator: status code, Content-Length, Connection: close.</summary>
internal static class ResponseHead
{
    /// <param name="head">The head including its final CRLFCRLF.</param>
    public static bool TryParse(ReadOnlySpan<byte> head, out int status, out long contentLength, out bool close)
    {
        status = 0;
        contentLength = -1;
        close = false;
        // "HTTP/1.1 200 ..."
        if (head.Length < 12 || !head.StartsWith("HTTP/1."u8) || !Utf8Parser.TryParse(head.Slice(9, 3), out status, out _))
        {
            return false;
        }

        var rest = head[(head.IndexOf((byte)'\n') + 1)..];
        while (rest.Length > 2)
        {
            var end = rest.IndexOf((byte)'\n');
            if (end < 1)
            {
                return false;
            }

            var line = rest[..(end - 1)];   // without CRLF
            rest = rest[(end + 1)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return false;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out contentLength, out var used) || used != value.Length)
                {
                    return false;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                close = Ascii.EqualsIgnoreCase(value, "close"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                // The bench backends always send Content-Length; a proxy that re-frames as chunked is not comparable.
                return false;
            }
        }

        // 1xx/204/304 have no body; everything the bench asks for must carry Content-Length.
        if (contentLength < 0)
        {
            if (status is 204 or 304)
            {
                contentLength = 0;
                return true;
            }

            return false;
        }

        return true;
    }

    /// <summary>
    /// Receives until the buffer holds a whole response head; returns the bytes received so far and the head's length
    /// (CRLFCRLF included). EOF before the head is a reset; a head larger than the buffer is refused.
    /// </summary>
    public static async ValueTask<(int Filled, int HeadLength)> ReceiveHeadAsync(Socket socket, byte[] buffer)
    {
        var filled = 0;
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false);
            if (HeadEnd(buffer, ref filled, read) is int length)
            {
                return (filled, length);
            }
        }
    }

    /// <summary>The same over a stream (the TLS generator).</summary>
    public static async ValueTask<(int Filled, int HeadLength)> ReceiveHeadAsync(Stream stream, byte[] buffer)
    {
        var filled = 0;
        while (true)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled)).ConfigureAwait(false);
            if (HeadEnd(buffer, ref filled, read) is int length)
            {
                return (filled, length);
            }
        }
    }

    private static int? HeadEnd(byte[] buffer, ref int filled, int read)
    {
        if (read == 0)
        {
            throw new SocketException((int)SocketError.ConnectionReset);
        }

        filled += read;
        var headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
        if (headEnd >= 0)
        {
            return headEnd + 4;
        }

        return filled == buffer.Length ? throw new SocketException((int)SocketError.MessageSize) : null;
    }
}
