namespace LoadBalancer.Tests.EndToEnd.Conformance;

/// <summary>
/// One row of the response conformance table: what backend A answers to the first request, and what the client and
/// the backend connection must see.
/// </summary>
/// <param name="Name">Short description; the test's display name.</param>
/// <param name="Rule">The issue 3 rule the row checks.</param>
/// <param name="Response">Backend A's raw answer (Latin-1), possibly with interim responses first.</param>
/// <param name="Client">
/// What the client reads, in order: "200 body" for a 200, a bare status otherwise, "truncated" when the connection ended
/// inside a body.
/// </param>
/// <param name="ClientClosed">lb closed the client connection afterwards.</param>
/// <param name="BackendReused">The next request to A went over the same backend connection.</param>
/// <param name="Request">The client's request (default: a GET for tenant A).</param>
/// <param name="BackendCloses">Backend A closes the connection after answering (a close-delimited body).</param>
public sealed record ResponseCase(
    string Name,
    string Rule,
    string Response,
    string[] Client,
    bool ClientClosed,
    bool BackendReused,
    string Request = "GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n",
    bool BackendCloses = false)
{
    public bool IsHead => Request.StartsWith("HEAD ", StringComparison.Ordinal);

    public override string ToString() => Name;
}
