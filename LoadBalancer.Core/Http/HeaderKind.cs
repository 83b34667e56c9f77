namespace LoadBalancer.Core.Http;

/// <summary>Headers the proxy acts on, recognized once by the parser so later stages compare an enum, not bytes.</summary>
public enum HeaderKind : byte
{
    Other,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    TE,
    Trailer,
    Upgrade,
    Expect,
    XForwardedFor,
    XForwardedProto,
    XForwardedHost,
    Cookie,

    /// <summary>lb's own mTLS fields (see Tls.ClientCertificateHeaders): a client's copy is never forwarded.</summary>
    XClientCertSubject,
    XClientCertSha256,
}
