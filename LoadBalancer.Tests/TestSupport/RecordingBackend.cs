using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A backend for conformance tests: records every request's exact bytes (head and framed body), answers through a
/// scripted function (default: 200 "ok"), can send 100 Continue first, and after answering 101 echoes bytes back.
/// It also keeps every byte read off each connection (<see cref="ReceivedBytes"/>), so a test can assert exactly what
/// reached this backend, including partial requests a proxy started and then abandoned.
/// </summary>
public sealed class RecordingBackend : IAsyncDisposable
{
    public delegate byte[] Responder(RecordedRequest request);

    private readonly Socket _listener;
    private readonly Responder _respond;
    private readonly bool _sendContinue;
    private readonly bool _answerBeforeBody;
    private readonly Task _acceptLoop;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly ConcurrentQueue<Task> _serving = new();
    private readonly List<MemoryStream> _received = [];
    private int _connections;

    private RecordingBackend(Responder? respond, bool sendContinue, bool answerBeforeBody)
    {
        _respond = respond ?? (_ => Ok("ok"));
        _sendContinue = sendContinue;
        _answerBeforeBody = answerBeforeBody;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <param name="answerBeforeBody">Answer as soon as the head arrived, then close (a server refusing a body).</param>
    public static RecordingBackend Start(Responder? respond = null, bool sendContinue = false, bool answerBeforeBody = false)
        => new(respond, sendContinue, answerBeforeBody);

    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";

    public IReadOnlyCollection<RecordedRequest> Requests => _requests;

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>
    /// Every byte read from every connection so far, connections in accept order. Stable once
    /// <see cref="WhenConnectionsClosedAsync"/> completed.
    /// </summary>
    public byte[] ReceivedBytes
    {
        get
        {
            lock (_received)
            {
                return [.. _received.SelectMany(r => r.ToArray())];
            }
        }
    }

    /// <summary>
    /// Completes when every connection made to this backend so far has ended (the peer closed or reset it), including
    /// one still waiting in the listen backlog: lb may finish with a connection before this backend even accepted it.
    /// </summary>
    public async Task WhenConnectionsClosedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            while (_listener.Poll(0, SelectMode.SelectRead))
            {
                await Task.Delay(1, cancellationToken);
            }

            var serving = _serving.Count;
            await Task.WhenAll(_serving).WaitAsync(cancellationToken);
            if (serving == _serving.Count && !_listener.Poll(0, SelectMode.SelectRead))
            {
                return;
            }
        }
    }

    /// <summary>Marks a scripted answer after which the backend closes the connection (a close-delimited body).</summary>
    public static byte[] ThenClose(byte[] response) => [.. response, .. CloseMarker];

    public static byte[] Ok(string body, string extraHeaders = "")
        => Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n{extraHeaders}\r\n{body}");

    /// <summary>Waits until <paramref name="count"/> requests in total have arrived.</summary>
    public async Task WaitForRequestsAsync(int count, CancellationToken cancellationToken)
    {
        while (_requests.Count < count)
        {
            await _arrived.WaitAsync(cancellationToken);
        }
    }

    private static ReadOnlySpan<byte> CloseMarker => "\0close\0"u8;

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                var received = new MemoryStream();
                lock (_received)
                {
                    _received.Add(received);
                }

                Interlocked.Increment(ref _connections);
                _serving.Enqueue(ServeAsync(socket, received));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(_serving);
    }

    private async Task ServeAsync(Socket socket, MemoryStream received)
    {
        await Task.Yield();
        await using var stream = new TeeStream(new NetworkStream(socket, ownsSocket: true), received, _received);
        var reader = PipeReader.Create(stream);
        var headers = new HeaderLine[256];
        try
        {
            while (true)
            {
                var head = default(HttpMessageHead);
                byte[] headBytes;
                while (true)
                {
                    var result = await reader.ReadAsync(_stop.Token);
                    var data = result.Buffer.ToArray();
                    head = default;
                    var status = Http1HeadParser.TryParseRequest(data, new HttpLimits { MaxHeadBytes = 64 * 1024, MaxHeaders = 256 }, ref head, headers);
                    if (status == HeadParseStatus.Complete)
                    {
                        headBytes = data[..head.HeadLength];
                        reader.AdvanceTo(result.Buffer.GetPosition(head.HeadLength));
                        break;
                    }

                    if (status == HeadParseStatus.Invalid || result.IsCompleted)
                    {
                        // Record whatever arrived so a test can see a proxy forwarded garbage.
                        if (data.Length > 0)
                        {
                            _requests.Enqueue(new RecordedRequest(data, []));
                            _arrived.Release();
                        }

                        return;
                    }

                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                }

                if (_answerBeforeBody)
                {
                    var early = new RecordedRequest(headBytes, []);
                    _requests.Enqueue(early);
                    _arrived.Release();
                    await stream.WriteAsync(_respond(early), _stop.Token);
                    return;
                }

                if (_sendContinue && head.ExpectContinue)
                {
                    await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), _stop.Token);
                }

                var body = await ReadBodyAsync(reader, head);
                var request = new RecordedRequest(headBytes, body);
                _requests.Enqueue(request);
                _arrived.Release();
                var response = _respond(request);
                var close = response.AsSpan().EndsWith(CloseMarker);
                if (close)
                {
                    response = response[..^CloseMarker.Length];
                }

                await stream.WriteAsync(response, _stop.Token);
                if (response.AsSpan().StartsWith("HTTP/1.1 101"u8))
                {
                    await EchoAsync(reader, stream);
                    return;
                }

                if (close || head.ConnectionClose || response.AsSpan().IndexOf("Connection: close"u8) >= 0)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or InvalidDataException)
        {
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private async Task<byte[]> ReadBodyAsync(PipeReader reader, HttpMessageHead head)
    {
        if (!head.Chunked && head.ContentLength <= 0)
        {
            return [];
        }

        using var body = new MemoryStream();
        var decoder = default(ChunkedDecoder);
        var remaining = head.ContentLength;
        while (true)
        {
            var result = await reader.ReadAsync(_stop.Token);
            var buffer = result.Buffer;
            long take;
            var done = false;
            if (head.Chunked)
            {
                take = 0;
                foreach (var segment in buffer)
                {
                    var status = decoder.Advance(segment.Span, out var consumed);
                    take += consumed;
                    if (status == ChunkedStatus.Invalid)
                    {
                        throw new InvalidDataException();
                    }

                    if (status == ChunkedStatus.Done)
                    {
                        done = true;
                        break;
                    }
                }
            }
            else
            {
                take = Math.Min(remaining, buffer.Length);
                remaining -= take;
                done = remaining == 0;
            }

            body.Write(buffer.Slice(0, take).ToArray());
            reader.AdvanceTo(buffer.GetPosition(take));
            if (done)
            {
                return body.ToArray();
            }

            if (result.IsCompleted)
            {
                throw new IOException("body truncated");
            }
        }
    }

    private async Task EchoAsync(PipeReader reader, Stream stream)
    {
        while (true)
        {
            var result = await reader.ReadAsync(_stop.Token);
            foreach (var segment in result.Buffer)
            {
                await stream.WriteAsync(segment, _stop.Token);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>Copies every byte read into a per-connection log (locked with the list, read by <see cref="ReceivedBytes"/>).</summary>
    private sealed class TeeStream(NetworkStream inner, MemoryStream log, object gate) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            lock (gate)
            {
                log.Write(buffer.Span[..read]);
            }

            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
            => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

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

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        _stop.Dispose();
    }
}
