using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// The reloading side of <c>--reload</c>'s measured window: once a second it rewrites lb.toml with the first backend's
/// weight flipped and asks lb to load it with <c>POST /reload</c>, keeping what lb answered and how long it took.
/// </summary>
/// <param name="configForWeight">The whole lb.toml with the first backend at the given weight.</param>
internal sealed class ReloadDriver(string configPath, Func<int, string> configForWeight, IPEndPoint admin)
{
    private const int FailuresKept = 5;

    private readonly List<double> _milliseconds = [];
    private readonly List<string> _failures = [];

    // The weight lb last applied: a rewrite always differs from it, so even a retry after a failed reload is a change.
    private int _appliedWeight = 1;

    public int Attempted { get; private set; }

    /// <summary>Called after each applied reload with the count applied so far (e.g. to sample lb's RSS).</summary>
    public Action<int>? AfterApplied { get; init; }

    /// <summary>The argument of the config lb last applied (1 or 2).</summary>
    public int AppliedState => _appliedWeight;

    public int Applied { get; private set; }

    /// <summary>lb's answer to the first applied reload (what it says changed).</summary>
    public string? FirstSummary { get; private set; }

    /// <summary>The first few reloads not applied: status and lb's first line, or the client-side error.</summary>
    public IReadOnlyList<string> Failures => _failures;

    public double MeanMilliseconds => _milliseconds.Count == 0 ? 0 : _milliseconds.Average();

    public double MaxMilliseconds => _milliseconds.Count == 0 ? 0 : _milliseconds.Max();

    /// <summary>Reloads at 0.5 s, 1.5 s, ... into the window until <paramref name="windowEnd"/>; a reload in progress is finished.</summary>
    public async Task RunAsync(CancellationToken windowEnd)
    {
        var started = Stopwatch.GetTimestamp();
        for (var k = 0; ; k++)
        {
            // Off the window's edges by half a second, so the last reload's aftermath is measured too.
            var due = TimeSpan.FromSeconds(0.5 + k) - Stopwatch.GetElapsedTime(started);
            try
            {
                await Task.Delay(due > TimeSpan.Zero ? due : TimeSpan.Zero, windowEnd).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await ReloadOnceAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One reload to <paramref name="state"/> (1 or 2), outside the timed window; true when lb applied it.</summary>
    public async Task<bool> ReloadToAsync(int state)
    {
        var applied = Applied;
        await ReloadOnceAsync(state).ConfigureAwait(false);
        return Applied > applied;
    }

    private async Task ReloadOnceAsync(int? state = null)
    {
        var weight = state ?? (_appliedWeight == 1 ? 2 : 1);

        // Written beside it and renamed over it, as README recommends saving lb.toml: lb never reads half a file.
        var next = configPath + ".next";
        await File.WriteAllTextAsync(next, configForWeight(weight)).ConfigureAwait(false);
        File.Move(next, configPath, overwrite: true);
        Attempted++;
        var started = Stopwatch.GetTimestamp();
        try
        {
            // lb answers once the new snapshot is live: at 100,000 tenants on a busy machine that took over 5 s.
            var response = await AdminClient.SendAsync(admin, "POST", "/reload", TimeSpan.FromSeconds(120)).ConfigureAwait(false);
            _milliseconds.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);

            // 200 with the diff when applied; 200 "unchanged" when lb already runs this content; 422 with the errors.
            var body = response.Body.Trim();
            if (response.Status == 200 && body != "unchanged")
            {
                Applied++;
                _appliedWeight = weight;
                FirstSummary ??= body;
                AfterApplied?.Invoke(Applied);
            }
            else
            {
                Fail($"{response.Status} {body.Split('\n')[0]}");
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or InvalidOperationException)
        {
            Fail(ex.Message);
        }
    }

    private void Fail(string message)
    {
        if (_failures.Count < FailuresKept)
        {
            _failures.Add(message);
        }
    }
}
