using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Core.Transport;

internal sealed partial class SocketChannel : IValueTaskSource
{
    private static readonly Action<object?> CancelWrite = static state => ((SocketChannel)state!).OnWriteCanceled();

    private ManualResetValueTaskSourceCore<bool> _writeCore;
    private ReadOnlyMemory<byte> _writeData;
    private bool _writeOnlyWaits;
    private CancellationToken _writeToken;
    private DeadlineTimer? _writeTimer;
    private CancellationTokenRegistration _writeCancel;
    private int _writeWaiter;

    // As for reads: the socket may take more bytes while the loop's edge count differs from the one recorded when a
    // send found the socket buffer full.
    private int _writeEdges;
    private int _writeBlockedAt = -1;
    private bool _writeClosed;

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_loop is null)
        {
            return SocketIo.SendAsync(Socket, data, cancellationToken);
        }

        return cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled(cancellationToken) : StartWrite(data, onlyWait: false, cancellationToken);
    }

    /// <summary>The same, bounded by <paramref name="timer"/>: its expiry fails the wait with OperationCanceledException.</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, DeadlineTimer? timer)
    {
        if (_loop is null)
        {
            return SocketIo.SendAsync(Socket, data, timer?.Token ?? default);
        }

        return timer is { IsCancellationRequested: true }
            ? ValueTask.FromException(new OperationCanceledException())
            : StartWrite(data, onlyWait: false, default, timer);
    }

    private ValueTask StartWrite(ReadOnlyMemory<byte> data, bool onlyWait, CancellationToken cancellationToken, DeadlineTimer? timer = null)
    {
        while (true)
        {
            var edges = Volatile.Read(ref _writeEdges);
            if (edges != _writeBlockedAt || Volatile.Read(ref _writeClosed))
            {
                if (onlyWait)
                {
                    return default;
                }

                var error = SendSome(ref data, edges);
                if (error != SocketError.Success && error != SocketError.WouldBlock)
                {
                    return ValueTask.FromException(new SocketException((int)error));
                }

                if (data.IsEmpty)
                {
                    return default;
                }
            }

            _writeData = data;
            _writeOnlyWaits = onlyWait;
            _writeToken = cancellationToken;
            _writeTimer = timer;
            timer?.Watch(this);
            _writeCore.Reset();
            _writeCancel = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(CancelWrite, this) : default;
            Interlocked.Exchange(ref _writeWaiter, Waiting);
            if (Volatile.Read(ref _writeEdges) != edges && Interlocked.CompareExchange(ref _writeWaiter, Idle, Waiting) == Waiting)
            {
                _writeCancel.Unregister();
                continue;
            }

            if (Volatile.Read(ref _disposed) != 0)
            {
                FailPendingWrite(new ObjectDisposedException(nameof(Socket)));
            }
            else if (cancellationToken.IsCancellationRequested || timer is { IsCancellationRequested: true })
            {
                OnWriteCanceled();
            }

            return new ValueTask(this, _writeCore.Version);
        }
    }

    /// <summary>Sends until done or the socket buffer is full (then records the edge count it was full under).</summary>
    private SocketError SendSome(ref ReadOnlyMemory<byte> data, int edges)
    {
        while (!data.IsEmpty)
        {
            var sent = EpollNative.Send(Handle, data.Span);
            if (sent == -EpollNative.WouldBlock)
            {
                _writeBlockedAt = edges;
                return SocketError.WouldBlock;
            }

            if (sent < 0)
            {
                return (SocketError)SocketErrors.FromErrno(-sent);
            }

            data = data[sent..];
        }

        return SocketError.Success;
    }

    private void OnWriteEdge()
    {
        Interlocked.Increment(ref _writeEdges);
        if (Volatile.Read(ref _writeWaiter) == Waiting && Interlocked.CompareExchange(ref _writeWaiter, Running, Waiting) == Waiting)
        {
            RunPendingWrite();
        }
    }

    private void RunPendingWrite()
    {
        if (_writeOnlyWaits)
        {
            FinishWrite(null);
            return;
        }

        var edges = Volatile.Read(ref _writeEdges);
        SocketError error;
        try
        {
            error = SendSome(ref _writeData, edges);
        }
        catch (ObjectDisposedException ex)
        {
            FinishWrite(ex);
            return;
        }

        if (error == SocketError.Success)
        {
            FinishWrite(null);
        }
        else if (error == SocketError.WouldBlock)
        {
            Interlocked.Exchange(ref _writeWaiter, Waiting);
            if (Volatile.Read(ref _disposed) != 0)
            {
                // Disposed while this ran (its own attempt found the operation Running): fail it here.
                FailPendingWrite(new ObjectDisposedException(nameof(Socket)));
            }
            else if (WriteCanceled)
            {
                OnWriteCanceled();
            }
        }
        else
        {
            FinishWrite(new SocketException((int)error));
        }
    }

    private bool WriteCanceled => _writeToken.IsCancellationRequested || Volatile.Read(ref _writeTimer) is { IsCancellationRequested: true };

    private void OnWriteCanceled()
    {
        if (WriteCanceled && Interlocked.CompareExchange(ref _writeWaiter, Running, Waiting) == Waiting)
        {
            FinishWrite(new OperationCanceledException(_writeToken));
        }
    }

    private void FailPendingWrite(Exception exception)
    {
        if (Interlocked.CompareExchange(ref _writeWaiter, Running, Waiting) == Waiting)
        {
            FinishWrite(exception);
        }
    }

    private void FinishWrite(Exception? exception)
    {
        _writeCancel.Unregister();
        _writeCancel = default;
        _writeData = default;
        _writeToken = default;
        _writeTimer = null;
        Volatile.Write(ref _writeWaiter, Idle);
        if (exception is null)
        {
            _writeCore.SetResult(true);
        }
        else
        {
            _writeCore.SetException(exception);
        }
    }

    void IValueTaskSource.GetResult(short token) => _writeCore.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _writeCore.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _writeCore.OnCompleted(continuation, state, token, flags);
}
