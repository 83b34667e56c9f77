namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// Where an access key is in its lifecycle (the <c>state=</c> field of a keys file line; a line without one is
/// <see cref="Approved"/>, so files written before the lifecycle existed keep working).
/// </summary>
public enum KeyState
{
    /// <summary>Accepted (until its <c>expires</c>, if it has one).</summary>
    Approved,

    /// <summary>Created under <c>key_approval = "manual"</c> and not approved yet: 403 <c>key_pending</c>.</summary>
    Pending,

    /// <summary>Ended by an administrator: kept in the file for the record, not compiled into the snapshot (403 <c>invalid_access_key</c>).</summary>
    Revoked,
}
