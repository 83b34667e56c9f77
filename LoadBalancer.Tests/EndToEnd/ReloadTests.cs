using System.Net;
using System.Net.Sockets;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>Single reloads through the real host: rejection keeps the old config, removed backends lose their connections.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ReloadTests
{
    private static string Config(string poolBackends, string extra = "", string poolTimeouts = "") => $$"""
        [admin]
        listen = "127.0.0.1:0"

        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        {{extra}}

        [[tenants]]
        name = "t"
        match = ["t.test"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [{{poolBackends}}]
        {{poolTimeouts}}
        """;

    private static string Backend(ScriptedBackend backend) => $"{{ address = \"{backend.Address}\" }}";

    [Test]
    [CancelAfter(20_000)]
    public async Task AdminReload_PortInUse_RejectedWhole_OldConfigKeepsServing(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var s2 = ScriptedBackend.Start("s2");
        await using var lb = await LbTestHost.StartAsync(Config(Backend(s1)));
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var before = lb.Engine.Snapshots.Current;
        var web = lb.EndPoint();

        // Valid TOML, but the new listener's port is taken: the whole reload (including the pool change) is refused.
        var extra = $"[[listeners]]\nname = \"extra\"\nlisten = \"{taken.LocalEndPoint}\"\n";
        await lb.WriteConfigAsync(Config(Backend(s2), extra));
        using var rejected = await admin.PostAsync("reload", null, cancellationToken);
        var body = await rejected.Content.ReadAsStringAsync(cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)rejected.StatusCode, Is.EqualTo(422), body);
            Assert.That(body, Does.Contain($"{lb.ConfigPath}:9:10: listeners[1].listen: cannot listen on {taken.LocalEndPoint}: address already in use"));
            Assert.That(lb.Engine.Snapshots.Current, Is.SameAs(before));
            Assert.That(lb.Engine.GetListenerEndPoint("extra"), Is.Null);
            Assert.That(lb.EndPoint(), Is.EqualTo(web));
            Assert.That(lb.Reloader.RejectedCount, Is.EqualTo(1));
            Assert.That((await HttpProbe.GetOnceAsync(web, "t.test", "/", cancellationToken)).Backend, Is.EqualTo("s1"));
        }

        // Once the file is fixed, the same trigger applies it.
        await lb.WriteConfigAsync(Config(Backend(s2)));
        using var applied = await admin.PostAsync("reload", null, cancellationToken);
        Assert.That((int)applied.StatusCode, Is.EqualTo(200), await applied.Content.ReadAsStringAsync(cancellationToken));
        Assert.That((await HttpProbe.GetOnceAsync(web, "t.test", "/", cancellationToken)).Backend, Is.EqualTo("s2"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AdminReload_WeightChangeWithPortInUse_RejectedWeightStaysOld_AppliedWeightIsLogged(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config($"{{ address = \"{s1.Address}\", weight = 1 }}"));
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var state = lb.Engine.Snapshots.Current.Pools["p"].Backends[0];

        var extra = $"[[listeners]]\nname = \"extra\"\nlisten = \"{taken.LocalEndPoint}\"\n";
        await lb.WriteConfigAsync(Config($"{{ address = \"{s1.Address}\", weight = 7 }}", extra));
        using var rejected = await admin.PostAsync("reload", null, cancellationToken);
        Assert.That((int)rejected.StatusCode, Is.EqualTo(422));
        Assert.That(state.Config.Weight, Is.EqualTo(1), "a rejected reload leaves the live weight alone");

        await lb.WriteConfigAsync(Config($"{{ address = \"{s1.Address}\", weight = 7 }}"));
        using var applied = await admin.PostAsync("reload", null, cancellationToken);
        var summary = await applied.Content.ReadAsStringAsync(cancellationToken);
        Assert.That((int)applied.StatusCode, Is.EqualTo(200), summary);
        Assert.That(state.Config.Weight, Is.EqualTo(7));
        Assert.That(summary, Is.EqualTo($"pool p: backend {s1.Address} weight 1 -> 7\n"), "the reload log says the weight changed");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AdminReload_LimitsHealthTimeoutsKeysAndBackends_EachChangedSettingIsNamed(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var s2 = ScriptedBackend.Start("s2");
        const string hash = "0000000000000000000000000000000000000000000000000000000000000000";
        string Tenant(string extra) => $"rate_limit = {{ requests_per_second = 100 }}\n{extra}";
        await using var lb = await LbTestHost.StartAsync(WithTenantLines(Config(Backend(s1), poolTimeouts: "health = { interval = \"2s\" }"), Tenant("")));
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };

        var changed = Config(
            $"{Backend(s1)}, {{ address = \"{s2.Address}\", weight = 3 }}",
            poolTimeouts: "health = { interval = \"5s\" }\ntimeouts = { connect = \"250ms\" }\nmax_connections_per_backend = 8");
        await lb.WriteConfigAsync(WithTenantLines(changed, Tenant($"max_in_flight = 50\naccess_keys = [ {{ id = \"billing\", sha256 = \"{hash}\" }} ]")
            .Replace("requests_per_second = 100", "requests_per_second = 200, burst = 400", StringComparison.Ordinal)));
        using var applied = await admin.PostAsync("reload", null, cancellationToken);
        var summary = await applied.Content.ReadAsStringAsync(cancellationToken);

        Assert.That((int)applied.StatusCode, Is.EqualTo(200), summary);
        Assert.That(summary, Is.EqualTo(
            "tenant t: rate_limit { requests_per_second = 100, burst = 100 } -> { requests_per_second = 200, burst = 400 }, "
            + "max_in_flight unlimited -> 50, access_keys none -> 1 key (billing; set " + summary.Split("set ")[1][..8] + "); "
            + $"pool p: timeouts.connect 3s -> 250ms, max_connections_per_backend unlimited -> 8, health.interval 2s -> 5s, backend {s2.Address} added (weight 3)\n"));
    }

    /// <summary>The fixture's config with extra lines in its one tenant.</summary>
    private static string WithTenantLines(string config, string lines)
        => config.Replace("pool = \"p\"\n", $"pool = \"p\"\n{lines}\n", StringComparison.Ordinal);

    [Test]
    [CancelAfter(20_000)]
    public async Task Reload_BackendRemoved_ItsIdlePooledConnectionIsClosed(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var s2 = ScriptedBackend.Start("s2");
        await using var lb = await LbTestHost.StartAsync(Config(Backend(s1)));
        await using var client = await HttpProbe.ConnectAsync(lb.EndPoint(), cancellationToken);
        Assert.That((await client!.GetAsync("t.test", "/", cancellationToken)).Backend, Is.EqualTo("s1"));
        var s1State = lb.Engine.Snapshots.Current.Pools["p"].Backends[0];

        await lb.WriteConfigAsync(Config(Backend(s2)));
        await lb.Reloader.ReloadAsync("test");

        await s1.WaitForClosedByPeerAsync(1, cancellationToken);
        Assert.That(s1State.IsRetired, Is.True);
        Assert.That((await client.GetAsync("t.test", "/", cancellationToken)).Backend, Is.EqualTo("s2"), "the same client connection, routed by the new config");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Reload_BackendRemovedMidRequest_RequestFinishes_ConnectionClosedInsteadOfPooled(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var s2 = ScriptedBackend.Start("s2");
        await using var lb = await LbTestHost.StartAsync(Config(Backend(s1)));
        await using var client = await HttpProbe.ConnectAsync(lb.EndPoint(), cancellationToken);
        var slow = client!.GetAsync("t.test", "/slow", cancellationToken);
        await s1.SlowRequestArrived.WaitAsync(cancellationToken);

        await lb.WriteConfigAsync(Config(Backend(s2)));
        await lb.Reloader.ReloadAsync("test");
        s1.ReleaseSlow();

        var response = await slow;
        Assert.That((response.Outcome, response.Backend), Is.EqualTo((ProbeOutcome.Ok, "s1")), "in flight: finishes on the backend it already had");
        await s1.WaitForClosedByPeerAsync(1, cancellationToken);
        Assert.That((await client.GetAsync("t.test", "/", cancellationToken)).Backend, Is.EqualTo("s2"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task IdleSweep_ClosesPooledConnectionPastThePoolIdleTimeout(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(Backend(s1), poolTimeouts: "timeouts = { idle = \"200ms\" }"));

        Assert.That((await HttpProbe.GetOnceAsync(lb.EndPoint(), "t.test", "/", cancellationToken)).Backend, Is.EqualTo("s1"));

        // No request comes to rent it again: only the sweeper can close it.
        await s1.WaitForClosedByPeerAsync(1, cancellationToken);
        Assert.That(lb.Engine.Snapshots.Current.Pools["p"].Backends[0].IdleConnections.IdleCount, Is.Zero);
    }
}
