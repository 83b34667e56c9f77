namespace LoadBalancer.Core.Dns;

/// <summary>How one resolution of a backend name ended: the <c>result</c> label of <c>lb_dns_resolutions_total</c>.</summary>
public enum DnsResult
{
    /// <summary>At least one A or AAAA record.</summary>
    Ok,

    /// <summary>The name does not exist (RCODE 3).</summary>
    NxDomain,

    /// <summary>The name exists but has no A or AAAA record (NODATA).</summary>
    Empty,

    /// <summary>No usable answer: timeout, SERVFAIL, REFUSED, a malformed reply.</summary>
    Failed,
}
