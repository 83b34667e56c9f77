namespace LoadBalancer.Core.Http;

/// <summary>
/// One answer lb gives itself, before encoding: its <see cref="LocalReplyCause"/>, plus what only this request knows.
/// A ref struct because <see cref="Subject"/> points into the request head; encode it before the next await.
/// </summary>
public readonly ref struct LocalReply
{
    public LocalReply(LocalReplyCause cause, ReadOnlySpan<byte> subject = default, ReadOnlySpan<char> challengeHeader = default, bool bearer = false, ReadOnlySpan<byte> lines = default, long retryAfterSeconds = 0)
    {
        Lines = lines;
        RetryAfterSeconds = retryAfterSeconds;
        Cause = cause;
        Subject = subject;
        ChallengeHeader = challengeHeader;
        Bearer = bearer;
    }

    public LocalReplyCause Cause { get; }

    /// <summary>
    /// Bytes appended to the detail in single quotes, e.g. the Host seen for a 421: sanitized to printable ASCII and
    /// capped at about 100 bytes by the encoder. Never a secret (key, Authorization).
    /// </summary>
    public ReadOnlySpan<byte> Subject { get; }

    /// <summary>For a 401: the header lb reads the access key from (a config name, not request bytes); empty = none.</summary>
    public ReadOnlySpan<char> ChallengeHeader { get; }

    /// <summary>For a 401: the key is expected as <c>Authorization: Bearer</c>.</summary>
    public bool Bearer { get; }

    public bool HasChallenge => Bearer || !ChallengeHeader.IsEmpty;

    /// <summary>Header lines (CRLF-terminated) for this answer only: a consumer's RateLimit headers.</summary>
    public ReadOnlySpan<byte> Lines { get; }

    /// <summary>The Retry-After of a cause that carries one, in seconds; 0 means the constant 1.</summary>
    public long RetryAfterSeconds { get; }
}
