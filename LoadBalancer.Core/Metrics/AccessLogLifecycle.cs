using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Metrics;

/// <summary>
/// Closes access-log writers that a reload replaced (new path or buffer size) once the new snapshot is live, and the
/// last one at shutdown, after the engine drained. Requests still finishing on the old snapshot drop their lines
/// (counted) instead of writing to a closed file.
/// </summary>
public sealed class AccessLogLifecycle : IAsyncDisposable
{
    private readonly SnapshotHolder _holder;
    private readonly Lock _lock = new();
    private readonly List<Task> _closing = [];
    private AccessLogWriter? _current;

    public AccessLogLifecycle(SnapshotHolder holder)
    {
        _holder = holder;
        _current = holder.Current.AccessLog;
        holder.Published += OnPublished;
    }

    private void OnPublished(RuntimeSnapshot next)
    {
        lock (_lock)
        {
            if (ReferenceEquals(next.AccessLog, _current))
            {
                return;
            }

            if (_current is { } old)
            {
                _closing.Add(old.DisposeAsync().AsTask());
            }

            _current = next.AccessLog;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _holder.Published -= OnPublished;
        Task[] closing;
        AccessLogWriter? current;
        lock (_lock)
        {
            closing = [.. _closing];
            current = _current;
            _current = null;
        }

        await Task.WhenAll(closing).ConfigureAwait(false);
        if (current is not null)
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }
    }
}
