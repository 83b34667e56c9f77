namespace LoadBalancer.Core.Health;

/// <summary>What one active check result did to a backend.</summary>
internal enum HealthTransition
{
    None,
    Up,
    Down,
}
