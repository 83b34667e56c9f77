using System.Diagnostics;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Fairness under overload: tenant A floods at ~10x its rate limit from many connections while tenant B sends steady
/// traffic; B must keep a 100% success rate and a median latency within 2x of its latency alone. Takes ~10 s and
/// loads every core, so it is a soak test: <c>dotnet test --filter "Category=Soak"</c> (it is [Explicit], so it
/// never runs in the default suite).
/// </summary>
[TestFixture]
[Category("Soak")]
[Explicit("Soak test: ~10 s at full load; run with --filter Category=Soak")]
public sealed class NoisyNeighbourTests
{
    private const int ARate = 200;

    [Test]
    [CancelAfter(60_000)]
    public async Task Flood_TenantAAtTenTimesItsLimit_TenantBStillAllSuccessAndMedianWithin2x(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("b1", "b2");
        await using var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "a"
            match = ["a.example.com"]
            pool = "shared"
            rate_limit = { requests_per_second = {{ARate}}, burst = {{ARate / 4}} }
            max_in_flight = 16
            max_connections = 64

            [[tenants]]
            name = "b"
            match = ["b.example.com"]
            pool = "shared"

            [[pools]]
            name = "shared"
            balancer = "least-connections"
            backends = [ { address = "{{backends.Address("b1")}}" }, { address = "{{backends.Address("b2")}}" } ]
            max_connections_per_backend = 32
            """);

        var alone = await MeasureBAsync(lb, TimeSpan.FromSeconds(3), cancellationToken);

        using var flood = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long aSent = 0;
        long aOk = 0;
        var floodStarted = Stopwatch.StartNew();
        var floodTasks = Enumerable.Range(0, 24).Select(_ => Task.Run(async () =>
        {
            var pacing = Stopwatch.StartNew();
            long mine = 0;
            while (!flood.IsCancellationRequested)
            {
                // Each of 24 senders aims at 10 x ARate / 24 requests per second: the flood totals ~10x A's limit.
                var due = TimeSpan.FromSeconds(mine * 24.0 / (10.0 * ARate));
                if (pacing.Elapsed < due)
                {
                    await Task.Delay(due - pacing.Elapsed, CancellationToken.None);
                }

                mine++;
                try
                {
                    await using var connection = await lb.ConnectAsync(flood.Token);
                    await connection.SendAsync("GET /flood HTTP/1.1\r\nHost: a.example.com\r\n\r\n", flood.Token);
                    var response = await connection.ReadResponseAsync(flood.Token);
                    Interlocked.Increment(ref aSent);
                    if (response?.Status == 200)
                    {
                        Interlocked.Increment(ref aOk);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Net.Sockets.SocketException)
                {
                    // Stopping, or a refused connection: the flood goes on.
                }
            }
        })).ToArray();

        var underFlood = await MeasureBAsync(lb, TimeSpan.FromSeconds(3), cancellationToken);
        var floodSeconds = floodStarted.Elapsed.TotalSeconds;
        await flood.CancelAsync();
        await Task.WhenAll(floodTasks);

        var report = $"B alone: {alone.Ok}/{alone.Sent} ok, median {alone.MedianMs:F3} ms, p99 {alone.P99Ms:F3} ms; "
            + $"B under flood: {underFlood.Ok}/{underFlood.Sent} ok, median {underFlood.MedianMs:F3} ms, p99 {underFlood.P99Ms:F3} ms; "
            + $"A flood: {aSent / floodSeconds:F0} req/s sent ({aSent / floodSeconds / ARate:F1}x its limit), {aOk / floodSeconds:F0} req/s admitted";
        await TestContext.Out.WriteLineAsync(report);

        Assert.That(aSent / floodSeconds, Is.GreaterThan(5.0 * ARate), "the flood must actually exceed A's limit many times: " + report);
        Assert.That(underFlood.Ok, Is.EqualTo(underFlood.Sent), report);
        Assert.That(alone.Ok, Is.EqualTo(alone.Sent), report);
        Assert.That(underFlood.MedianMs, Is.LessThanOrEqualTo(2 * alone.MedianMs), report);
    }

    private sealed record Measurement(int Sent, int Ok, double MedianMs, double P99Ms);

    /// <summary>B: one keep-alive connection, a request every 5 ms, for <paramref name="duration"/>.</summary>
    private static async Task<Measurement> MeasureBAsync(TestLb lb, TimeSpan duration, CancellationToken cancellationToken)
    {
        var latencies = new List<double>();
        var ok = 0;
        var sent = 0;
        var clock = Stopwatch.StartNew();
        RawHttpConnection? connection = null;
        try
        {
            while (clock.Elapsed < duration)
            {
                connection ??= await lb.ConnectAsync(cancellationToken);
                var started = Stopwatch.GetTimestamp();
                sent++;
                await connection.SendAsync("GET /steady HTTP/1.1\r\nHost: b.example.com\r\n\r\n", cancellationToken);
                var response = await connection.ReadResponseAsync(cancellationToken);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (response?.Status == 200)
                {
                    ok++;
                }
                else
                {
                    await connection.DisposeAsync();
                    connection = null;
                }

                await Task.Delay(5, cancellationToken);
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }

        latencies.Sort();
        return new Measurement(sent, ok, latencies[latencies.Count / 2], latencies[(int)(latencies.Count * 0.99)]);
    }
}
