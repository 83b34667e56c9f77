using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Core.Demo;

/// <summary>
/// A tiny HTTP/1.1 backend that answers every request with its own name, for <c>lb --demo</c>, the tests and the bench.
/// It reads request bodies by their framing and reports their length and SHA-256 in X-Body-Length / X-Body-Sha256.
/// With <c>fixedResponse</c> it sends the same precomputed bytes every time (bench: the backend must not be the bottleneck).
/// </summary>
public sealed class WhoamiServer : IAsyncDisposable
{
    private readonly SocketListener _listener;
    private readonly string _name;
    private readonly bool _fixedResponse;
    private readonly byte[] _fixedBytes;
    private readonly Task _acceptLoop;
    private readonly CancellationTokenSource _stop = new();
    private int _requests;

    private WhoamiServer(SocketListener listener, string name, bool fixedResponse, int fixedBodyBytes)
    {
        _listener = listener;
        _name = name;
        _fixedResponse = fixedResponse;
        var body = fixedBodyBytes > 0 ? new string('x', fixedBodyBytes) : $"{name}\n";
        _fixedBytes = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Backend: {name}\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        _acceptLoop = listener.AcceptLoopAsync(socket => _ = ServeAsync(socket));
    }

    public IPEndPoint EndPoint => _listener.BoundEndPoint;

    public string Name => _name;

    /// <summary>Requests answered so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public static WhoamiServer Start(IPEndPoint endPoint, string name, bool fixedResponse = false, int fixedBodyBytes = 0)
        => new(SocketListener.Bind(endPoint), name, fixedResponse, fixedBodyBytes);

    private async Task ServeAsync(Socket socket)
    {
        var reader = SocketIo.CreateReader(socket, out var stream);
        var headers = new HeaderLine[100];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var head = default(HttpMessageHead);
                string? description = null;
                ReadResult result;
                while (true)
                {
                    result = await reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                    var buffer = result.Buffer;
                    var data = buffer.IsSingleSegment ? buffer.FirstSpan : buffer.ToArray();
                    head = default;
                    var status = Http1HeadParser.TryParseRequest(data, HttpLimits.Default, ref head, headers);
                    if (status == HeadParseStatus.Complete)
                    {
                        if (!_fixedResponse)
                        {
                            description = Describe(data, head);
                        }

                        reader.AdvanceTo(buffer.GetPosition(head.HeadLength));
                        break;
                    }

                    if (status == HeadParseStatus.Invalid || result.IsCompleted)
                    {
                        return;
                    }

                    reader.AdvanceTo(buffer.Start, buffer.End);
                }

                var bodyLength = await ReadBodyAsync(reader, head, hash).ConfigureAwait(false);
                Interlocked.Increment(ref _requests);
                if (_fixedResponse)
                {
                    await SocketIo.SendAsync(socket, _fixedBytes, _stop.Token).ConfigureAwait(false);
                }
                else
                {
                    var digest = bodyLength > 0 ? Convert.ToHexStringLower(hash.GetHashAndReset()) : "";
                    var body = $"{_name} {description}\n";
                    var response = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Backend: {_name}\r\nX-Body-Length: {bodyLength}\r\nX-Body-Sha256: {digest}\r\nContent-Length: {body.Length}\r\n\r\n{body}";
                    await SocketIo.SendAsync(socket, Encoding.UTF8.GetBytes(response), _stop.Token).ConfigureAwait(false);
                }

                if (head.ConnectionClose)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            // The demo backend just drops broken or cancelled connections.
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            socket.Dispose();
        }
    }

    private static string Describe(ReadOnlySpan<byte> data, in HttpMessageHead head)
    {
        var method = Encoding.ASCII.GetString(data.Slice(head.MethodStart, head.MethodLength));
        var target = Encoding.ASCII.GetString(data.Slice(head.TargetStart, head.TargetLength));
        var host = Encoding.ASCII.GetString(data.Slice(head.AuthorityStart, head.AuthorityLength));
        return $"{method} {target} host={host}";
    }

    private async Task<long> ReadBodyAsync(PipeReader reader, HttpMessageHead head, IncrementalHash hash)
    {
        if (!head.Chunked && head.ContentLength <= 0)
        {
            return 0;
        }

        long total = 0;
        var remaining = head.ContentLength;
        var decoder = default(ChunkedDecoder);
        var chunkedDone = false;
        while (true)
        {
            var result = await reader.ReadAsync(_stop.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            long take;
            if (head.Chunked)
            {
                take = 0;
                foreach (var segment in buffer)
                {
                    var status = decoder.Advance(segment.Span, out var consumed);
                    take += consumed;
                    if (status == ChunkedStatus.Invalid)
                    {
                        throw new InvalidDataException("bad chunked body");
                    }

                    if (status == ChunkedStatus.Done)
                    {
                        chunkedDone = true;
                        break;
                    }
                }

                // The digest covers the raw chunked bytes: what a proxy must forward unchanged.
                foreach (var segment in buffer.Slice(0, take))
                {
                    hash.AppendData(segment.Span);
                }
            }
            else
            {
                take = Math.Min(buffer.Length, remaining);
                remaining -= take;
                foreach (var segment in buffer.Slice(0, take))
                {
                    hash.AppendData(segment.Span);
                }
            }

            total += take;
            reader.AdvanceTo(buffer.GetPosition(take));
            if ((head.Chunked && chunkedDone) || (!head.Chunked && remaining == 0))
            {
                return total;
            }

            if (result.IsCompleted)
            {
                throw new IOException("body truncated");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _acceptLoop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
