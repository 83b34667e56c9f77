using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Conformance;

/// <summary>
/// Runs <see cref="ResponseCases"/> end to end: backend A answers the first request with the row's bytes (later ones
/// with 200 "a"); the client's view, the connection state and whether A's connection was reused are checked.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ResponseConformanceTests
{
    private const string FollowUp = "GET /next HTTP/1.1\r\nHost: acme.example.com\r\n\r\n";

    private static IEnumerable<TestCaseData> AllCases()
        => ResponseCases.All().Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    [Test]
    public void Table_HasUniqueNames()
        => Assert.That(ResponseCases.All().Select(c => c.Name), Is.Unique);

    [TestCaseSource(nameof(AllCases))]
    [CancelAfter(10_000)]
    public async Task BackendResponse_GivesExpectedOutcome(ResponseCase row, CancellationToken cancellationToken)
    {
        var calls = 0;
        var scripted = Encoding.Latin1.GetBytes(row.Response);
        // A follow-up on a new client connection finds A's idle connection only on the same loop (pools are per loop).
        await using var rig = await ConformanceRig.StartAsync(
            _ => Interlocked.Increment(ref calls) == 1
                ? row.BackendCloses ? RecordingBackend.ThenClose(scripted) : scripted
                : RecordingBackend.Ok("a"),
            loops: row.ClientClosed && row.BackendReused ? 1 : 0);

        var client = await rig.Lb.ConnectAsync(cancellationToken);
        try
        {
            await client.SendAsync(row.Request, cancellationToken);
            var seen = new List<string>();
            foreach (var _ in row.Client)
            {
                seen.Add(await ReadAsync(client, row.IsHead, cancellationToken));
            }

            Assert.That(seen, Is.EqualTo(row.Client), "what the client read, in order");
            if (row.ClientClosed)
            {
                Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True, "lb closes the client connection");
                await client.DisposeAsync();
                client = await rig.Lb.ConnectAsync(cancellationToken);
            }

            // The follow-up goes over the same client connection when it is open, so lb has finished with the first
            // exchange (and pooled or discarded A's connection) before it reads the next head.
            await client.SendAsync(FollowUp, cancellationToken);
            Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 a"), "next request");
            Assert.That(rig.A.Connections, Is.EqualTo(row.BackendReused ? 1 : 2), "connections backend A accepted");
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    private static async Task<string> ReadAsync(RawHttpConnection client, bool head, CancellationToken cancellationToken)
    {
        try
        {
            return ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken, headRequest: head));
        }
        catch (IOException)
        {
            return "truncated";
        }
    }
}
