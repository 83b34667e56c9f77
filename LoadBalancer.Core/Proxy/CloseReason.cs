namespace LoadBalancer.Core.Proxy;

/// <summary>Why a client connection ended; the first reason recorded wins.</summary>
public enum CloseReason
{
    None,
    ClientClosed,
    ClientReset,
    ClientRequestedClose,
    KeepAliveTimeout,
    RequestHeadTimeout,
    BodyTimeout,
    BadRequest,
    UnknownTenant,
    NoBackend,
    BackendConnectFailed,
    BackendResponseTimeout,
    BackendInvalidResponse,
    BackendClosed,
    CloseDelimitedResponse,
    UpgradeEnded,
    Draining,
    Aborted,
    Error,
}
