namespace LoadBalancer.Core.Http;

public enum HeadParseStatus
{
    /// <summary>No complete head yet and no rule broken so far: read more.</summary>
    Incomplete,

    /// <summary>A complete, valid head; its offsets are filled in.</summary>
    Complete,

    /// <summary>Broken framing or syntax: answer <c>ErrorStatus</c> and close.</summary>
    Invalid,
}
