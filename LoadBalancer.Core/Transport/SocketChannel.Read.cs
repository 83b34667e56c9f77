using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Core.Transport;

internal sealed partial class SocketChannel : IValueTaskSource<int>
{
    private const int Idle = 0;
    private const int Waiting = 1;
    private const int Running = 2;

    private static readonly Action<object?> CancelRead = static state => ((SocketChannel)state!).OnReadCanceled();

    private ManualResetValueTaskSourceCore<int> _readCore;
    private Memory<byte> _readBuffer;
    private CancellationToken _readToken;
    private DeadlineTimer? _readTimer;
    private CancellationTokenRegistration _readCancel;
    private int _readWaiter;

    // Readiness as counts, not a flag, so that no edge is lost: the loop counts read edges, and a read that drains
    // the socket records the count it started under. The socket may have data while the two differ.
    private int _readEdges;
    private int _readDrainedAt = -1;
    private bool _readClosed;

    /// <summary>
    /// Receives into <paramref name="buffer"/>; 0 means the peer closed. An empty buffer waits until the socket is
    /// readable, without reading (the zero-byte read that lets an idle connection hold no buffer).
    /// </summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        => _loop is null ? Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken) : Receive(buffer, cancellationToken, null);

    /// <summary>The same, bounded by <paramref name="timer"/>: its expiry fails the wait with OperationCanceledException.</summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, DeadlineTimer? timer)
        => _loop is null ? Socket.ReceiveAsync(buffer, SocketFlags.None, timer?.Token ?? default) : Receive(buffer, default, timer);

    private ValueTask<int> Receive(Memory<byte> buffer, CancellationToken cancellationToken, DeadlineTimer? timer)
    {
        if (cancellationToken.IsCancellationRequested || timer is { IsCancellationRequested: true })
        {
            return ValueTask.FromException<int>(new OperationCanceledException(cancellationToken));
        }

        while (true)
        {
            var edges = Volatile.Read(ref _readEdges);
            if (edges != _readDrainedAt || Volatile.Read(ref _readClosed))
            {
                if (buffer.IsEmpty)
                {
                    return new ValueTask<int>(0);
                }

                var received = EpollNative.Receive(Handle, buffer.Span);
                if (received >= 0)
                {
                    if (received > 0 && received < buffer.Length && !Volatile.Read(ref _readClosed))
                    {
                        _readDrainedAt = edges;
                    }

                    return new ValueTask<int>(received);
                }

                if (received != -EpollNative.WouldBlock)
                {
                    return ValueTask.FromException<int>(SocketErrors.Exception(-received));
                }

                _readDrainedAt = edges;
            }

            _readBuffer = buffer;
            _readToken = cancellationToken;
            _readTimer = timer;
            timer?.Watch(this);
            _readCore.Reset();
            _readCancel = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(CancelRead, this) : default;

            // Publish, then look for an edge that came in meanwhile; the loop does the mirror image (count, then look
            // for a waiter), so one of the two always sees the other.
            Interlocked.Exchange(ref _readWaiter, Waiting);
            if (Volatile.Read(ref _readEdges) != edges && Interlocked.CompareExchange(ref _readWaiter, Idle, Waiting) == Waiting)
            {
                _readCancel.Unregister();
                continue;
            }

            if (Volatile.Read(ref _disposed) != 0)
            {
                FailPendingRead(new ObjectDisposedException(nameof(Socket)));
            }
            else if (cancellationToken.IsCancellationRequested || timer is { IsCancellationRequested: true })
            {
                OnReadCanceled();
            }

            return new ValueTask<int>(this, _readCore.Version);
        }
    }

    /// <summary>Set while the socket idles in a pool: a read edge with no read pending is reported to it.</summary>
    internal IIdleReadWatcher? IdleWatcher { get; set; }

    /// <summary>
    /// Whether a receive could return something now (bytes, end of stream or an error). With the epoll engine this is
    /// the readiness bookkeeping, with no syscall when the last read drained the socket and no edge came since; a
    /// differing count is confirmed with one poll, since an edge may have announced bytes a later read already took.
    /// With .NET's engine it is always the poll.
    /// </summary>
    internal bool MayBeReadable()
    {
        if (_loop is not null && !Volatile.Read(ref _readClosed) && Volatile.Read(ref _readEdges) == _readDrainedAt)
        {
            return false;
        }

        return PollReadable();
    }

    /// <summary>One non-blocking poll: readable, hung up or failed all count (none of them may carry a request).</summary>
    internal bool PollReadable()
    {
        try
        {
            return _loop is null ? Socket.Poll(0, System.Net.Sockets.SelectMode.SelectRead) : EpollNative.PeekReadable(Handle);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    private void OnReadEdge()
    {
        Interlocked.Increment(ref _readEdges);
        if (Volatile.Read(ref _readWaiter) == Waiting && Interlocked.CompareExchange(ref _readWaiter, Running, Waiting) == Waiting)
        {
            RunPendingRead();
        }
        else if (IdleWatcher is { } watcher)
        {
            watcher.OnReadableWhileIdle();
        }
    }

    /// <summary>On the loop thread, with the waiter owned (Running).</summary>
    private void RunPendingRead()
    {
        if (_readBuffer.IsEmpty)
        {
            FinishRead(0, null);
            return;
        }

        var edges = Volatile.Read(ref _readEdges);
        int received;
        try
        {
            received = EpollNative.Receive(Handle, _readBuffer.Span);
        }
        catch (ObjectDisposedException ex)
        {
            FinishRead(0, ex);
            return;
        }

        if (received >= 0)
        {
            if (received > 0 && received < _readBuffer.Length && !Volatile.Read(ref _readClosed))
            {
                _readDrainedAt = edges;
            }

            FinishRead(received, null);
        }
        else if (received == -EpollNative.WouldBlock)
        {
            // A spurious edge: wait for the next one, unless the operation was canceled meanwhile.
            _readDrainedAt = edges;
            Interlocked.Exchange(ref _readWaiter, Waiting);
            if (Volatile.Read(ref _disposed) != 0)
            {
                // Disposed while this ran (its own attempt found the operation Running): fail it here.
                FailPendingRead(new ObjectDisposedException(nameof(Socket)));
            }
            else if (ReadCanceled)
            {
                OnReadCanceled();
            }
        }
        else
        {
            FinishRead(0, SocketErrors.Exception(-received));
        }
    }

    private bool ReadCanceled => _readToken.IsCancellationRequested || Volatile.Read(ref _readTimer) is { IsCancellationRequested: true };

    private void OnReadCanceled()
    {
        if (ReadCanceled && Interlocked.CompareExchange(ref _readWaiter, Running, Waiting) == Waiting)
        {
            FinishRead(0, new OperationCanceledException(_readToken));
        }
    }

    private void FailPendingRead(Exception exception)
    {
        if (Interlocked.CompareExchange(ref _readWaiter, Running, Waiting) == Waiting)
        {
            FinishRead(0, exception);
        }
    }

    private void FinishRead(int received, Exception? exception)
    {
        _readCancel.Unregister();
        _readCancel = default;
        _readBuffer = default;
        _readToken = default;
        _readTimer = null;

        // Idle before the result: the continuation runs inline and may start the next read at once.
        Volatile.Write(ref _readWaiter, Idle);
        if (exception is null)
        {
            _readCore.SetResult(received);
        }
        else
        {
            _readCore.SetException(exception);
        }
    }

    int IValueTaskSource<int>.GetResult(short token) => _readCore.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _readCore.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _readCore.OnCompleted(continuation, state, token, flags);
}
