namespace LoadBalancer.Fuzz.Reference;

/// <summary>What the reference request parser decided.</summary>
internal enum ReferenceVerdict
{
    /// <summary>No CRLFCRLF within the head limit: the reference has no opinion (lb may wait or refuse early).</summary>
    NoHead,
    Accept,
    Reject,
}
