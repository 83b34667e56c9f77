using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Proxy;

/// <summary>What <see cref="ProxyExchange.Admit"/> decided: go on, or lb's own answer with why the connection may close.</summary>
internal readonly struct Admission
{
    private Admission(LocalReplyCause? refusal, CloseReason closeReason)
    {
        Refusal = refusal;
        CloseReason = closeReason;
    }

    public static Admission Admitted => default;

    /// <summary>Null when admitted; else the answer (status, code, detail) lb gives itself.</summary>
    public LocalReplyCause? Refusal { get; }

    public CloseReason CloseReason { get; }

    public bool IsAdmitted => Refusal is null;

    /// <summary>0 when admitted, else the refusal's status.</summary>
    public int Status => Refusal?.Status ?? 0;

    public static Admission Refused(LocalReplyCause cause, CloseReason closeReason) => new(cause, closeReason);
}
