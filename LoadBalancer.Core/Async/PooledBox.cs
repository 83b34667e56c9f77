using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace LoadBalancer.Core.Async;

/// <summary>
/// The heap half of a suspended async method: its state machine and its result, reused. .NET's
/// <c>PoolingAsyncValueTaskMethodBuilder</c> keeps one box per thread and one per core for each method, so with 64
/// requests in flight nearly every suspension allocated a new box (measured: about 650 B per proxied request). These
/// boxes go back to a per-thread stack, then a shared queue, each with room for thousands.
/// </summary>
internal abstract class PooledBox<TResult> : IValueTaskSource<TResult>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<TResult> _core;

    public short Version => _core.Version;

    public void SetResult(TResult result) => _core.SetResult(result);

    public void SetException(Exception exception) => _core.SetException(exception);

    public TResult GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            Recycle();
        }
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    protected abstract void Recycle();
}

internal sealed class PooledBox<TStateMachine, TResult> : PooledBox<TResult>
    where TStateMachine : IAsyncStateMachine
{
    private const int PerThread = 256;
    private const int Shared = 4096;

    [ThreadStatic]
    private static Stack<PooledBox<TStateMachine, TResult>>? t_pool;

    private static readonly ConcurrentQueue<PooledBox<TStateMachine, TResult>> SharedPool = new();
    private static int s_sharedCount;

    private static readonly ContextCallback RunInContext = static state => ((PooledBox<TStateMachine, TResult>)state!).StateMachine!.MoveNext();

    public TStateMachine? StateMachine;
    public ExecutionContext? Context;

    private PooledBox() => MoveNextAction = MoveNext;

    /// <summary>Cached once per box, so a suspension allocates no delegate.</summary>
    public Action MoveNextAction { get; }

    public static PooledBox<TStateMachine, TResult> Rent()
    {
        if (t_pool is { } pool && pool.TryPop(out var box))
        {
            return box;
        }

        if (SharedPool.TryDequeue(out box))
        {
            Interlocked.Decrement(ref s_sharedCount);
            return box;
        }

        return new PooledBox<TStateMachine, TResult>();
    }

    private void MoveNext()
    {
        if (Context is null)
        {
            StateMachine!.MoveNext();
        }
        else
        {
            ExecutionContext.Run(Context, RunInContext, this);
        }
    }

    protected override void Recycle()
    {
        StateMachine = default;
        Context = null;
        var pool = t_pool ??= new Stack<PooledBox<TStateMachine, TResult>>();
        if (pool.Count < PerThread)
        {
            pool.Push(this);
        }
        else if (Interlocked.Increment(ref s_sharedCount) <= Shared)
        {
            SharedPool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref s_sharedCount);
        }
    }
}
