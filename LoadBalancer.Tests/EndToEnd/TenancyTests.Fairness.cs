using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

public sealed partial class TenancyTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task SaturatedPool_FreedSlotGoesToTenantWithFewestInFlight_NotFirstInLine(CancellationToken cancellationToken)
    {
        await using var backend = HoldingBackend.Start("b1", hold: true);
        await using var lb = await TestLb.StartAsync(Config(backend.Address, poolExtra: "max_connections_per_backend = 1\ntimeouts = { queue = \"10s\" }"));
        var slots = lb.Snapshot.Pools["p"].Slots;

        // acme holds the only slot and queues two more requests; globex queues one after them.
        var acme1 = SendAsync(lb, Get("acme.example.com", path: "/acme1"), cancellationToken);
        await backend.WaitForRequestsAsync(1, cancellationToken);
        var acme2 = SendAsync(lb, Get("acme.example.com", path: "/acme2"), cancellationToken);
        await EventuallyAsync(() => Task.FromResult(slots.Waiters == 1), cancellationToken);
        var acme3 = SendAsync(lb, Get("acme.example.com", path: "/acme3"), cancellationToken);
        await EventuallyAsync(() => Task.FromResult(slots.Waiters == 2), cancellationToken);
        var globex = SendAsync(lb, Get("globex.example.com", path: "/globex"), cancellationToken);
        await EventuallyAsync(() => Task.FromResult(slots.Waiters == 3), cancellationToken);

        backend.Release();
        foreach (var response in new[] { acme1, acme2, acme3, globex })
        {
            Assert.That((await response)!.Status, Is.EqualTo(200));
        }

        // First in line was acme's second request; the freed slot went to globex, which had fewer requests in flight.
        var order = backend.Heads.Select(h => h.Split(' ')[1]).ToArray();
        Assert.That(order[..2], Is.EqualTo(new[] { "/acme1", "/globex" }));
        Assert.That(order[2..], Is.EquivalentTo(new[] { "/acme2", "/acme3" }));
    }
}
