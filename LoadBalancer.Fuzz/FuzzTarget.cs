namespace LoadBalancer.Fuzz;

/// <summary>Runs one input; returns normally when every property held, throws <see cref="PropertyViolation"/> otherwise.</summary>
internal delegate void FuzzTarget(ReadOnlySpan<byte> data);
