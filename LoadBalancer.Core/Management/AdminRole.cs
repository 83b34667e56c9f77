namespace LoadBalancer.Core.Management;

/// <summary>What an admin token may do: <c>read</c> only GETs, <c>write</c> everything (lb.toml <c>role</c>).</summary>
public enum AdminRole
{
    Read,
    Write,
}
