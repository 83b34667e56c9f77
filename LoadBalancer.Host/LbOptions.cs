namespace LoadBalancer.Host;

/// <summary>What the command line decided for this process.</summary>
public sealed record LbOptions(string ConfigPath, bool Demo);
