using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A raw-socket HTTP/1.1 client for tests that must control the exact bytes (keep-alive, pipelining, smuggling cases).
/// Reads responses by their framing; knows nothing of lb.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private TrickleStream? _trickle;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(Socket socket, Stream? stream = null)
    {
        _socket = socket;
        _stream = stream ?? new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>
    /// Connects and runs a TLS handshake with <paramref name="options"/>; with <paramref name="byteByByte"/> every byte
    /// the client sends during the handshake goes out in a send of its own (a ClientHello in many TCP segments).
    /// </summary>
    public static async Task<RawHttpConnection> ConnectTlsAsync(
        IPEndPoint endPoint, System.Net.Security.SslClientAuthenticationOptions options, CancellationToken cancellationToken, bool byteByByte = false)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint, cancellationToken);
        var network = new NetworkStream(socket, ownsSocket: true);
        var trickle = new TrickleStream(network) { ByteByByte = byteByByte };
        var tls = new System.Net.Security.SslStream(trickle, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(options, cancellationToken);
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }

        trickle.ByteByByte = false;
        return new RawHttpConnection(socket, tls) { _trickle = trickle };
    }

    /// <summary>The TLS stream of a connection made by <see cref="ConnectTlsAsync"/>, else null.</summary>
    public System.Net.Security.SslStream? Tls => _stream as System.Net.Security.SslStream;

    public static async Task<RawHttpConnection> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint, cancellationToken);
        return new RawHttpConnection(socket);
    }

    public Socket Socket => _socket;

    public Task SendAsync(string text, CancellationToken cancellationToken) => SendAsync(Encoding.ASCII.GetBytes(text), cancellationToken);

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        => await _stream.WriteAsync(bytes, cancellationToken);

    /// <summary>
    /// TLS only: each text goes into a TLS record of its own, and all the records leave in one send (so the server
    /// reads them in one receive), or with <paramref name="byteByByte"/> every byte of them in a send of its own.
    /// </summary>
    public async Task SendRecordsAsync(string[] texts, bool byteByByte, CancellationToken cancellationToken)
    {
        var trickle = _trickle ?? throw new InvalidOperationException("not a TLS connection");
        trickle.Hold = true;
        foreach (var text in texts)
        {
            await _stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken);
        }

        trickle.Hold = false;
        trickle.ByteByByte = byteByByte;
        await trickle.ReleaseAsync(cancellationToken);
        trickle.ByteByByte = false;
    }

    /// <summary>Reads one response; null when the connection closed before any byte of it.</summary>
    public async Task<RawHttpResponse?> ReadResponseAsync(CancellationToken cancellationToken, bool headRequest = false)
    {
        var headText = await ReadHeadAsync(cancellationToken);
        if (headText is null)
        {
            return null;
        }

        var lines = headText.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1]);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var existing) ? existing + ", " + value : value;
        }

        byte[] body;
        if (headRequest || status is 204 or 304 || status < 200)
        {
            body = [];
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = await ReadChunkedAsync(cancellationToken);
        }
        else if (headers.TryGetValue("Content-Length", out var cl))
        {
            body = await ReadExactlyAsync(int.Parse(cl), cancellationToken);
        }
        else
        {
            body = await ReadToEndAsync(cancellationToken);
        }

        return new RawHttpResponse(status, headers, body);
    }

    /// <summary>True when the peer closed the connection (EOF or reset) within the token's time.</summary>
    public async Task<bool> IsClosedByPeerAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_end > _start)
            {
                return false;
            }

            var read = await _stream.ReadAsync(_buffer.AsMemory(0), cancellationToken);
            if (read == 0)
            {
                return true;
            }

            _start = 0;
            _end = read;
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        int read;
        try
        {
            read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        }
        catch (IOException)
        {
            return false;
        }

        _end += read;
        return read > 0;
    }

    private async Task<string?> ReadHeadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var end = span.IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var text = Encoding.ASCII.GetString(span[..end]);
                _start += end + 4;
                return text;
            }

            if (!await FillAsync(cancellationToken))
            {
                return null;
            }
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var end = span.IndexOf("\r\n"u8);
            if (end >= 0)
            {
                var text = Encoding.ASCII.GetString(span[..end]);
                _start += end + 2;
                return text;
            }

            if (!await FillAsync(cancellationToken))
            {
                throw new IOException("connection closed mid-line");
            }
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_end == _start && !await FillAsync(cancellationToken))
            {
                throw new IOException($"connection closed after {copied} of {count} body bytes");
            }

            var take = Math.Min(count - copied, _end - _start);
            Buffer.BlockCopy(_buffer, _start, result, copied, take);
            _start += take;
            copied += take;
        }

        return result;
    }

    private async Task<byte[]> ReadChunkedAsync(CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var sizeLine = await ReadLineAsync(cancellationToken);
            var size = Convert.ToInt32(sizeLine.Split(';')[0], 16);
            if (size == 0)
            {
                while ((await ReadLineAsync(cancellationToken)).Length > 0)
                {
                }

                return body.ToArray();
            }

            body.Write(await ReadExactlyAsync(size, cancellationToken));
            await ReadLineAsync(cancellationToken);
        }
    }

    private async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        body.Write(_buffer, _start, _end - _start);
        _start = _end = 0;
        while (await FillAsync(cancellationToken))
        {
            body.Write(_buffer, _start, _end - _start);
            _start = _end = 0;
        }

        return body.ToArray();
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();

    /// <summary>Passes writes through, one byte per send while <see cref="ByteByByte"/> is set.</summary>
    private sealed class TrickleStream(NetworkStream inner) : Stream
    {
        private readonly MemoryStream _held = new();

        public bool ByteByByte { get; set; }

        /// <summary>Writes are kept until <see cref="ReleaseAsync"/>.</summary>
        public bool Hold { get; set; }

        public async Task ReleaseAsync(CancellationToken cancellationToken)
        {
            var held = _held.ToArray();
            _held.SetLength(0);
            await WriteAsync(held, cancellationToken);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Hold)
            {
                _held.Write(buffer.Span);
                return;
            }

            if (!ByteByByte)
            {
                await inner.WriteAsync(buffer, cancellationToken);
                return;
            }

            for (var i = 0; i < buffer.Length; i++)
            {
                await inner.WriteAsync(buffer.Slice(i, 1), cancellationToken);
                await Task.Yield();
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
