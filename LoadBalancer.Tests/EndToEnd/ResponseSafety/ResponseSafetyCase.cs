namespace LoadBalancer.Tests.EndToEnd.ResponseSafety;

/// <summary>
/// One row of the response-safety table: a backend answer that leaves the backend connection's framing in doubt, what
/// the client must see, and why lb must close that backend connection.
/// </summary>
/// <param name="Name">Short description; the test's display name.</param>
/// <param name="Rule">The issue 11 rule the row checks.</param>
/// <param name="Parts">The backend's answer in parts; written together, or one by one with a pause between.</param>
/// <param name="Client">What the client reads: "200 body", or a bare status ("200 " for a HEAD answer without body).</param>
/// <param name="ClientClosed">lb closes the client connection after the answer (lb answered 502 itself).</param>
/// <param name="Reasons">
/// <c>lb_backend_connections_discarded_total</c> reasons one of which must count the discard: in one write the extra
/// bytes come with the answer (unread_bytes), split they arrive after lb pooled the connection (unsolicited_data).
/// </param>
/// <param name="Method">The client's method for the scripted request.</param>
public sealed record ResponseSafetyCase(
    string Name,
    string Rule,
    string[] Parts,
    string[] Client,
    bool ClientClosed,
    string[] Reasons,
    string Method = "GET")
{
    public override string ToString() => Name;
}
