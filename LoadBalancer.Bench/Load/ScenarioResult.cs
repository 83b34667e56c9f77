namespace LoadBalancer.Bench.Load;

/// <summary>One row of the report: a target under one load shape, with the generator's and (optionally) wrk's figures.</summary>
internal sealed record ScenarioResult(string Target, bool KeepAlive, int BodyBytes, LoadResult Load)
{
    public string Mode => KeepAlive ? "keepalive" : "newconn";

    public WrkRunner.WrkResult? Wrk { get; set; }

    /// <summary>The machine's load average (1, 5, 15 min) when the scenario ended: other work on a shared machine.</summary>
    public double[] LoadAverage { get; set; } = [];

    /// <summary>--accounting: lb's own counters over the scenario (warm-up included), read from /metrics.</summary>
    public AccountingCounters? Counters { get; set; }
}

/// <summary>Deltas of lb's counters over one scenario, and the access log's size at its end.</summary>
internal sealed record AccountingCounters(double Requests2xx, double RateLimited, double KeyRequests, double LogLines, double LogDropped, long LogFileBytes);
