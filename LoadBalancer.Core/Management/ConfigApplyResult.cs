namespace LoadBalancer.Core.Management;

/// <summary>What applying a rewritten lb.toml did (the reload's outcome): applied, or refused with its error lines.</summary>
/// <param name="Errors"><c>FILE:LINE:COL: path: message</c> lines, as a rejected reload logs them.</param>
public sealed record ConfigApplyResult(bool Applied, string Summary, IReadOnlyList<string> Errors);
