using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Conformance;

/// <summary>
/// Runs <see cref="RequestCases"/> end to end: raw bytes in; statuses, connection state and exactly the bytes each
/// backend received out. Valid rows are also delivered one byte per write and in seeded random pieces.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
[Parallelizable(ParallelScope.None)]
public sealed class RequestConformanceTests
{
    private static IEnumerable<TestCaseData> AllCases()
        => RequestCases.All().Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    private static IEnumerable<TestCaseData> ValidCases()
        => RequestCases.All().Where(c => c.IsValid).Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    [Test]
    public void Table_HasUniqueNames_AndCoversEveryRule()
    {
        var cases = RequestCases.All().ToList();
        Assert.That(cases.Select(c => c.Name), Is.Unique);
        var rules = typeof(RequestCases).GetFields().Where(f => f.IsLiteral && f.Name is not nameof(RequestCases.HostA) and not nameof(RequestCases.HostB))
            .Select(f => (string)f.GetRawConstantValue()!);
        foreach (var rule in rules)
        {
            Assert.That(cases.Count(c => c.Rule == rule), Is.GreaterThanOrEqualTo(2), rule);
        }
    }

    [TestCaseSource(nameof(AllCases))]
    [CancelAfter(10_000)]
    public Task Request_InOneWrite_GivesExpectedOutcome(RequestCase row, CancellationToken cancellationToken)
        => RunAsync(row, nextSize: null, cancellationToken);

    [TestCaseSource(nameof(ValidCases))]
    [CancelAfter(10_000)]
    public Task ValidRequest_OneBytePerWrite_GivesSameOutcome(RequestCase row, CancellationToken cancellationToken)
        => RunAsync(row, static () => 1, cancellationToken);

    [TestCaseSource(nameof(ValidCases))]
    [CancelAfter(10_000)]
    public Task ValidRequest_InRandomPieces_GivesSameOutcome(RequestCase row, CancellationToken cancellationToken)
    {
        // Seeded from the name (string.GetHashCode is randomized per process), so a failure replays.
        var random = new Random(row.Name.Aggregate(17, (hash, c) => unchecked((hash * 31) + c)));
        return RunAsync(row, () => random.Next(1, 24), cancellationToken);
    }

    private static async Task RunAsync(RequestCase row, Func<int>? nextSize, CancellationToken cancellationToken)
    {
        await using var rig = await ConformanceRig.StartAsync();
        await using (var client = await rig.Lb.ConnectAsync(cancellationToken))
        {
            await ConformanceRig.SendAsync(client, Encoding.Latin1.GetBytes(row.Request), nextSize, cancellationToken);
            var responses = new List<string>();
            foreach (var _ in row.Responses)
            {
                responses.Add(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)));
            }

            Assert.That(responses, Is.EqualTo(row.Responses), "responses, in order");
            if (row.Closed)
            {
                Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True, "lb closes the connection");
            }
            else
            {
                await client.SendAsync(ConformanceRig.ProbeRequest, cancellationToken);
                Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 probe"), "connection stays usable");
            }
        }

        var (toA, toB) = await rig.StopAndCollectAsync(cancellationToken);
        if (row.ToAAtMost is null)
        {
            Assert.That(ConformanceRig.Escape(toA), Is.EqualTo(ConformanceRig.Escape(row.ToA)), "bytes backend A received");
        }
        else
        {
            Assert.That(toA.StartsWith(row.ToA, StringComparison.Ordinal) && row.ToAAtMost.StartsWith(toA, StringComparison.Ordinal), Is.True,
                $"backend A received \"{ConformanceRig.Escape(toA)}\", expected a prefix of \"{ConformanceRig.Escape(row.ToAAtMost)}\" at least as long as the head");
        }

        Assert.That(ConformanceRig.Escape(toB), Is.EqualTo(ConformanceRig.Escape(row.ToB)), "bytes backend B received");
    }
}
