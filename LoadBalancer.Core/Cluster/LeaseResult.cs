namespace LoadBalancer.Core.Cluster;

/// <summary>A sync round's answer: the live instance count (this one included) and the tokens granted per request, in order.</summary>
internal sealed record LeaseResult(int Instances, long[] Grants);
