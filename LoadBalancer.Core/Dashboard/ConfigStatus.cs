namespace LoadBalancer.Core.Dashboard;

/// <summary>
/// The configuration facts the dashboard shows: the applied lb.toml's version (its SHA-256), how many snapshots were
/// applied since start, and the last reload attempt with its errors. The host records every reload here.
/// </summary>
public sealed class ConfigStatus
{
    private readonly Lock _gate = new();
    private Reload? _last;
    private Reload? _rejected;
    private string _version = "";
    private int _generation = 1;
    private DateTimeOffset _appliedAt = DateTimeOffset.UtcNow;

    /// <summary>One reload attempt: when, its result (<c>applied</c>, <c>unchanged</c>, <c>rejected</c>), summary and errors.</summary>
    public sealed record Reload(DateTimeOffset At, string Result, string Summary, IReadOnlyList<string> Errors);

    /// <summary>The version the process started with.</summary>
    public void Started(string version)
    {
        lock (_gate)
        {
            _version = version;
        }
    }

    public void Record(Reload reload, string? appliedVersion)
    {
        ArgumentNullException.ThrowIfNull(reload);
        lock (_gate)
        {
            _last = reload;
            if (reload.Result == "rejected")
            {
                _rejected = reload;
            }
            else if (reload.Result == "applied")
            {
                _rejected = null;
                _generation++;
                _appliedAt = reload.At;
                _version = appliedVersion ?? _version;
            }
        }
    }

    /// <summary>The state now; <c>Rejected</c> is the latest rejected reload since the last applied one (its errors stay shown).</summary>
    public (string Version, int Generation, DateTimeOffset AppliedAt, Reload? Last, Reload? Rejected) Read()
    {
        lock (_gate)
        {
            return (_version, _generation, _appliedAt, _last, _rejected);
        }
    }
}
