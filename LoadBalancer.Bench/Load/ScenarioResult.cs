namespace LoadBalancer.Bench.Load;

/// <summary>One row of the report: a target under one load shape, with the generator's and (optionally) wrk's figures.</summary>
internal sealed record ScenarioResult(string Target, bool KeepAlive, int BodyBytes, LoadResult Load)
{
    public string Mode => KeepAlive ? "keepalive" : "newconn";

    public WrkRunner.WrkResult? Wrk { get; set; }
}
