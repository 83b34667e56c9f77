namespace LoadBalancer.Core.Tls;

/// <summary>How a TLS handshake on a listener ended: the <c>result</c> label of <c>lb_tls_handshakes_total</c>.</summary>
public enum TlsHandshakeResult
{
    /// <summary>A full handshake.</summary>
    Ok,

    /// <summary>An abbreviated handshake that resumed an earlier session (ticket or session id).</summary>
    Resumed,

    /// <summary>The client broke off, sent something that is not TLS (plain HTTP gets a 400), or the handshake failed.</summary>
    Failed,

    /// <summary>The handshake took longer than <c>handshake_timeout</c>.</summary>
    Timeout,

    /// <summary>No certificate for the client's SNI under <c>strict_sni</c>.</summary>
    NoCertificate,
}
