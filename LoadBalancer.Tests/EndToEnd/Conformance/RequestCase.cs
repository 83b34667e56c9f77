namespace LoadBalancer.Tests.EndToEnd.Conformance;

/// <summary>
/// One row of the request conformance table: raw bytes a client sends (possibly several pipelined requests) and what
/// must come of them end to end.
/// </summary>
/// <param name="Name">Short description; the test's display name.</param>
/// <param name="Rule">The issue 3 rule the row checks (docs/conformance.md groups rows by it).</param>
/// <param name="Request">Client bytes, one char per byte (Latin-1), so NUL, CR, LF and obs-text can be written.</param>
/// <param name="Responses">
/// What the client reads, in order: "200 a" / "200 b" (status and body, i.e. which backend answered) or a bare
/// status such as "400" for lb's own answers.
/// </param>
/// <param name="Closed">lb closed the connection after the last response (else a probe request still gets an answer).</param>
/// <param name="ToA">Exactly the bytes backend A (tenant acme.example.com) received, over all its connections.</param>
/// <param name="ToB">Exactly the bytes backend B (tenant beta.example.com) received.</param>
/// <param name="ToAAtMost">
/// When set, A may have received any prefix of this that starts with <see cref="ToA"/>: a streamed body lb stopped
/// forwarding at a framing error (how much of the valid part got out first depends on segmentation).
/// </param>
public sealed record RequestCase(
    string Name,
    string Rule,
    string Request,
    string[] Responses,
    bool Closed,
    string ToA = "",
    string ToB = "",
    string? ToAAtMost = null)
{
    /// <summary>
    /// Rows where every request is valid and answered by a backend: these must give the same result whatever the
    /// segmentation of the client's bytes.
    /// </summary>
    public bool IsValid => ToAAtMost is null && Responses.All(r => r.StartsWith("200 ", StringComparison.Ordinal));

    public override string ToString() => Name;
}
