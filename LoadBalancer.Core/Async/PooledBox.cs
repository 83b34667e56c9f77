using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Async;

/// <summary>
/// The heap half of a suspended async method: its state machine and its result, reused. .NET's
/// <c>PoolingAsyncValueTaskMethodBuilder</c> keeps one box per thread and one per core for each method, so with 64
/// requests in flight nearly every suspension allocated a new box (measured: about 650 B per proxied request). These
/// boxes go back to an <see cref="ObjectCache{T}"/> with room for thousands.
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
    private static readonly ObjectCache<PooledBox<TStateMachine, TResult>> Spares = new(perThread: 32, shared: 4096);

    private static readonly ContextCallback RunInContext = static state => ((PooledBox<TStateMachine, TResult>)state!).StateMachine!.MoveNext();

    public TStateMachine? StateMachine;
    public ExecutionContext? Context;

    private PooledBox() => MoveNextAction = MoveNext;

    /// <summary>Cached once per box, so a suspension allocates no delegate.</summary>
    public Action MoveNextAction { get; }

    public static PooledBox<TStateMachine, TResult> Rent()
        => Spares.TryTake(out var box) ? box : new PooledBox<TStateMachine, TResult>();

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
        Spares.Give(this);
    }
}
