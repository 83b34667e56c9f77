using System.Net;
using LoadBalancer.Core.Dns;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>How one resolution is read (DnsClient over real UDP to the in-test DNS server): results, order, TTL.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DnsLookupTests
{
    private static async Task<DnsLookup.Outcome> ResolveAsync(DnsResponder dns, string name, CancellationToken cancellationToken)
    {
        var client = DnsLookup.CreateClient(new DnsSettings { Servers = [dns.EndPoint] });
        return await DnsLookup.ResolveAsync(client, name, cancellationToken);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Resolve_AAndAaaa_AllAddressesSortedIPv4First_SmallestTtl(CancellationToken cancellationToken)
    {
        await using var dns = DnsResponder.Start();
        dns.Set("api.test", 42, IPAddress.Parse("::2"), IPAddress.Parse("10.0.0.9"), IPAddress.Parse("10.0.0.1"));

        var outcome = await ResolveAsync(dns, "api.test", cancellationToken);

        Assert.That(outcome.Result, Is.EqualTo(DnsResult.Ok));
        Assert.That(outcome.Addresses.Select(a => a.ToString()), Is.EqualTo(new[] { "10.0.0.1", "10.0.0.9", "::2" }));
        Assert.That(outcome.Ttl, Is.EqualTo(TimeSpan.FromSeconds(42)));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Resolve_NxDomain_ServerFailure_NoRecords_AreTold(CancellationToken cancellationToken)
    {
        await using var dns = DnsResponder.Start();
        dns.SetNxDomain("gone.test");
        dns.SetServerFailure("broken.test");
        dns.Set("empty.test", 30);

        var results = new[]
        {
            (await ResolveAsync(dns, "gone.test", cancellationToken)).Result,
            (await ResolveAsync(dns, "broken.test", cancellationToken)).Result,
            (await ResolveAsync(dns, "empty.test", cancellationToken)).Result,
        };

        Assert.That(results, Is.EqualTo(new[] { DnsResult.NxDomain, DnsResult.Failed, DnsResult.Empty }));
    }
}
