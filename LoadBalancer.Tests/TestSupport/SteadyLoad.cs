using System.Collections.Concurrent;
using System.Diagnostics;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// Closed-loop GET load through lb from a few workers; records every outcome with its time since the start, so a
/// test can count failures and look at per-backend shares in time windows.
/// </summary>
public sealed class SteadyLoad : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly string _host;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private readonly Stopwatch _clock;

    public SteadyLoad(HttpClient client, string host, int workers, Stopwatch clock)
    {
        _client = client;
        _host = host;
        _clock = clock;
        _workers = new Task[workers];
        for (var i = 0; i < workers; i++)
        {
            _workers[i] = Task.Run(WorkAsync);
        }
    }

    public ConcurrentQueue<Outcome> Outcomes { get; } = new();

    public IEnumerable<Outcome> Failures => Outcomes.Where(o => o.Status != 200);

    private async Task WorkAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var started = _clock.Elapsed;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/");
                request.Headers.Host = _host;
                using var response = await _client.SendAsync(request, _stop.Token);
                var backend = response.Headers.TryGetValues("X-Backend", out var values) ? values.Single() : "";
                Outcomes.Enqueue(new Outcome(started, _clock.Elapsed, (int)response.StatusCode, backend, null));
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Outcomes.Enqueue(new Outcome(started, _clock.Elapsed, 0, "", ex.GetType().Name + ": " + ex.Message));
            }

            // A short pause keeps the load steady but leaves the 2 shared cores room for lb and the backends.
            await Task.Delay(1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        _stop.Dispose();
    }

    public sealed record Outcome(TimeSpan Started, TimeSpan Finished, int Status, string Backend, string? Error);
}
