using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.ResponseSafety;

/// <summary>
/// Runs <see cref="ResponseSafetyCases"/> end to end, each row delivered in one write and split over writes 20 ms
/// apart (the extra bytes then come after lb considered the answer done). Afterwards a request on the same client
/// connection (tenant a), one on a fresh connection (tenant b, same pool) and one more for tenant a must each get the
/// backend's fresh answer, and the backend itself must see its dirty connection closed and never reused.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ResponseSafetyTests
{
    private static IEnumerable<TestCaseData> AllCases()
    {
        foreach (var row in ResponseSafetyCases.All())
        {
            yield return new TestCaseData(row, false).SetArgDisplayNames(row.Name, "one write");
            yield return new TestCaseData(row, true).SetArgDisplayNames(row.Name, "split");
        }
    }

    [Test]
    public void Table_HasUniqueNames()
        => Assert.That(ResponseSafetyCases.All().Select(c => c.Name), Is.Unique);

    [TestCaseSource(nameof(AllCases))]
    [CancelAfter(15_000)]
    public async Task DoubtfulResponse_NeverReachesAnotherRequest(ResponseSafetyCase row, bool split, CancellationToken cancellationToken)
    {
        var script = new DesyncBackend.Script(
            split ? row.Parts : [string.Concat(row.Parts)],
            split ? TimeSpan.FromMilliseconds(20) : TimeSpan.Zero,
            Dirty: true);
        await using var rig = await ResponseSafetyRig.StartAsync(script);

        var client = await rig.Lb.ConnectAsync(cancellationToken);
        try
        {
            await client.SendAsync(ResponseSafetyRig.Get("a.test", "/script", row.Method), cancellationToken);
            var seen = new List<string>();
            foreach (var _ in row.Client)
            {
                seen.Add(ResponseSafetyRig.Describe(await client.ReadResponseAsync(cancellationToken, headRequest: row.Method == "HEAD")));
            }

            Assert.That(seen, Is.EqualTo(row.Client), "what the client read for the scripted answer");

            // Every scripted byte is on its way to lb before anything else is asked.
            await rig.Backend.ScriptDone.WaitAsync(cancellationToken);
            if (row.ClientClosed)
            {
                Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True, "lb closes the client connection after its own 502");
                await client.DisposeAsync();
                client = await rig.Lb.ConnectAsync(cancellationToken);
            }

            await ResponseSafetyRig.ExpectFreshAnswerAsync(client, "a.test", "/same-connection", cancellationToken);
            await using (var fresh = await rig.Lb.ConnectAsync(cancellationToken))
            {
                await ResponseSafetyRig.ExpectFreshAnswerAsync(fresh, "b.test", "/other-tenant", cancellationToken);
            }

            await ResponseSafetyRig.ExpectFreshAnswerAsync(client, "a.test", "/again", cancellationToken);

            // The backend is the witness: lb closed the connection holding the extra bytes and sent it nothing more.
            await rig.Backend.WhenDirtyConnectionsClosedAsync(cancellationToken);
            Assert.That(rig.Backend.RequestsOnDirtyConnections, Is.Zero, "requests lb sent on a backend connection that held unread bytes");
            Assert.That(await rig.WaitForDiscardedAsync(row.Reasons, 1, cancellationToken), Is.EqualTo(1),
                $"lb_backend_connections_discarded_total over {string.Join(", ", row.Reasons)}");
        }
        finally
        {
            await client.DisposeAsync();
        }
    }
}
