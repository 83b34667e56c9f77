namespace LoadBalancer.Core.Http2.Frames;

/// <summary>What the next bytes of a connection hold.</summary>
internal enum Http2ReadStatus
{
    /// <summary>Not a whole frame yet.</summary>
    NeedMore,

    /// <summary>One whole frame, whose type rules (section 6) were checked.</summary>
    Frame,

    /// <summary>A frame that breaks the rules: see the fault for its code and scope.</summary>
    Fault,
}
