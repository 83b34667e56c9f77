using System.Runtime.CompilerServices;

namespace LoadBalancer.Core.Async;

/// <summary>
/// Async method builder for <see cref="ValueTask{TResult}"/> methods on the per-request path: a method that completes
/// synchronously costs nothing, and one that suspends borrows a <see cref="PooledBox{TStateMachine, TResult}"/>.
/// The usual ValueTask rule applies, strictly: await the result once.
/// </summary>
public struct PooledValueTaskMethodBuilder<TResult>
{
    private PooledBox<TResult>? _box;
    private TResult _result;

    public static PooledValueTaskMethodBuilder<TResult> Create() => default;

    internal readonly PooledBox<TResult>? BoxOrNull => _box;

    public readonly ValueTask<TResult> Task => _box is null ? new ValueTask<TResult>(_result) : new ValueTask<TResult>(_box, _box.Version);

    public void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
        => stateMachine.MoveNext();

    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public void SetResult(TResult result)
    {
        if (_box is null)
        {
            _result = result;
        }
        else
        {
            _box.SetResult(result);
        }
    }

    public void SetException(Exception exception)
    {
        // A method that fails before its first suspension still needs a box to carry the exception.
        _box ??= PooledBox<IAsyncStateMachine, TResult>.Rent();
        _box.SetException(exception);
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine
        => awaiter.OnCompleted(Box(ref stateMachine).MoveNextAction);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine
        => awaiter.UnsafeOnCompleted(Box(ref stateMachine).MoveNextAction);

    private PooledBox<TStateMachine, TResult> Box<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        if (_box is PooledBox<TStateMachine, TResult> existing)
        {
            existing.Context = ExecutionContext.Capture();
            return existing;
        }

        var box = PooledBox<TStateMachine, TResult>.Rent();
        box.Context = ExecutionContext.Capture();

        // This builder lives inside the state machine: set the box first, so that the copy moved into the box
        // carries it too.
        _box = box;
        box.StateMachine = stateMachine;
        return box;
    }
}

/// <summary>The same for methods returning <see cref="ValueTask"/>.</summary>
public struct PooledValueTaskMethodBuilder
{
    private PooledValueTaskMethodBuilder<bool> _inner;

    public static PooledValueTaskMethodBuilder Create() => default;

    public readonly ValueTask Task => _inner.BoxOrNull is { } box ? new ValueTask(box, box.Version) : default;

    public void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
        => stateMachine.MoveNext();

    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public void SetResult() => _inner.SetResult(true);

    public void SetException(Exception exception) => _inner.SetException(exception);

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine
        => _inner.AwaitOnCompleted(ref awaiter, ref stateMachine);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine
        => _inner.AwaitUnsafeOnCompleted(ref awaiter, ref stateMachine);
}
