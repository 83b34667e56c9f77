namespace LoadBalancer.Fuzz;

/// <summary>A property a target asserts did not hold: reported to libFuzzer as a crash, so the input is kept.</summary>
internal sealed class PropertyViolation(string message) : Exception(message);
