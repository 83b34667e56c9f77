using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Http2.Hpack;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A scripted HTTP/2 client over a raw socket: it sends exactly the frames a test gives (well formed or not) and reads
/// frames back, for the frame-level rules and defences that well-behaved clients never exercise.
/// </summary>
internal sealed class RawHttp2Client : IAsyncDisposable
{
    private readonly Stream _stream;
    private byte[] _buffer = new byte[256 * 1024];
    private int _buffered;

    private RawHttp2Client(Stream stream) => _stream = stream;

    /// <summary>The negotiated TLS session, for a client made by <see cref="ConnectTlsAsync"/>.</summary>
    public SslStream? Tls => _stream as SslStream;

    public static async Task<RawHttp2Client> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint, cancellationToken);
        return await StartAsync(new NetworkStream(socket, ownsSocket: true), cancellationToken);
    }

    /// <summary>TLS with <paramref name="serverName"/> as SNI (none when null) and ALPN <c>h2</c> only; then the preface.</summary>
    public static async Task<RawHttp2Client> ConnectTlsAsync(IPEndPoint endPoint, string? serverName, RemoteCertificateValidationCallback validate, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint, cancellationToken);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = serverName ?? "",
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = validate,
            },
            cancellationToken);
        return await StartAsync(tls, cancellationToken);
    }

    private static async Task<RawHttp2Client> StartAsync(Stream stream, CancellationToken cancellationToken)
    {
        var client = new RawHttp2Client(stream);
        var start = new byte[24 + 9];
        Http2FrameWriter.ClientPreface.CopyTo(start);
        Http2FrameWriter.WriteHeader(start.AsSpan(24), 0, Http2FrameType.Settings, 0, 0);
        await client.SendAsync(start, cancellationToken);
        return client;
    }

    public Task SendAsync(byte[] bytes, CancellationToken cancellationToken) => _stream.WriteAsync(bytes, cancellationToken).AsTask();

    public static byte[] Frame(int type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[9 + payload.Length];
        Http2FrameWriter.WriteHeader(bytes, payload.Length, (Http2FrameType)type, flags, streamId);
        payload.CopyTo(bytes.AsSpan(9));
        return bytes;
    }

    /// <summary>An HPACK block (lb's own encoder) for the given name/value pairs, in order.</summary>
    public static byte[] Block(params (string Name, string Value)[] fields)
    {
        var block = new byte[4096];
        var w = 0;
        foreach (var (name, value) in fields)
        {
            w += HpackEncoder.Encode(System.Text.Encoding.ASCII.GetBytes(name), System.Text.Encoding.ASCII.GetBytes(value), false, block.AsSpan(w));
        }

        return block[..w];
    }

    public static (string, string)[] Get(string authority, string path = "/") =>
        [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", authority)];

    /// <summary>Reads frames until one matches, the peer closes (null), or the token ends.</summary>
    public async Task<(Http2FrameHeader Header, byte[] Payload)?> ReadUntilAsync(Func<Http2FrameHeader, bool> match, CancellationToken cancellationToken)
    {
        while (true)
        {
            var frame = await ReadFrameAsync(cancellationToken);
            if (frame is null || match(frame.Value.Header))
            {
                return frame;
            }
        }
    }

    public async Task<(Http2FrameHeader Header, byte[] Payload)?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_buffered >= 9)
            {
                Http2FrameHeader.TryRead(_buffer.AsSpan(0, _buffered), out var header);
                if (_buffered >= 9 + header.Length)
                {
                    var payload = _buffer.AsSpan(9, header.Length).ToArray();
                    _buffer.AsSpan(9 + header.Length, _buffered - 9 - header.Length).CopyTo(_buffer);
                    _buffered -= 9 + header.Length;
                    return (header, payload);
                }
            }

            if (_buffered == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            int read;
            try
            {
                read = await _stream.ReadAsync(_buffer.AsMemory(_buffered), cancellationToken);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                return null;
            }

            if (read == 0)
            {
                return null;
            }

            _buffered += read;
        }
    }

    /// <summary>The :status of the stream's response head, or -1 when lb reset the stream or the connection closed.</summary>
    public async Task<int> StatusAsync(int streamId, CancellationToken cancellationToken)
    {
        var headers = await ReadUntilAsync(h => h.StreamId == streamId && h.Type is Http2FrameType.Headers or Http2FrameType.RstStream, cancellationToken);
        if (headers is not { Header.Type: Http2FrameType.Headers } frame)
        {
            return -1;
        }

        var decoder = new HpackDecoder(4096, 16384, 64);
        var output = new byte[16384];
        var fields = new HpackField[64];
        if (decoder.Decode(frame.Payload, output, fields, out _) != HpackStatus.Ok || !fields[0].Name(output).SequenceEqual(":status"u8))
        {
            throw new InvalidDataException("the response head does not start with :status");
        }

        return int.Parse(System.Text.Encoding.ASCII.GetString(fields[0].Value(output)), System.Globalization.CultureInfo.InvariantCulture);
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}
