namespace LoadBalancer.Host;

public enum ReloadOutcome
{
    Applied,
    Unchanged,
    Rejected,
}

/// <summary>What one reload attempt did; <see cref="Errors"/> are <c>PATH:LINE:COL: message</c> lines when rejected.</summary>
public sealed record ReloadResult(ReloadOutcome Outcome, IReadOnlyList<string> Errors, string Summary);
