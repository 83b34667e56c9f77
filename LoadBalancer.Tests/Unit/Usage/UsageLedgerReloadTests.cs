using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Usage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Tests.Unit.Usage;

/// <summary>
/// The ledger through reloads, on a real SQLite file: what it keeps per tenant, cell and key follows the live snapshot
/// (a removed tenant is read once more, then forgotten), while the counts it writes stay exact and its rows stay.
/// </summary>
[TestFixture]
public sealed class UsageLedgerReloadTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("lb-ledger-reload-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static string Tenant(string name) => $$"""
        [[tenants]]
        name = "{{name}}"
        match = ["{{name}}.test"]
        pool = "p"
        access_keys = [ { id = "{{name}}-key", sha256 = "{{AccessKeyGenerator.Sha256Hex("lbk_" + name + "_0123456789")}}" } ]

        [[tenants.routes]]
        name = "api"
        path_prefix = "/api"

        """;

    private RuntimeSnapshot Load(RuntimeSnapshot? previous, params string[] tenants)
    {
        var toml = "[[listeners]]\nname = \"web\"\nlisten = \"127.0.0.1:0\"\n\n" + string.Concat(tenants.Select(Tenant)) + "[[pools]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:9\" }]\n";
        var result = ConfigLoader.LoadText(toml, Path.Combine(_directory, "lb.toml"), previous);
        Assert.That(result.Errors, Is.Empty);
        return result.Snapshot!;
    }

    /// <summary>What the proxy counts for one request with the tenant's key on its route "api".</summary>
    private static void Requests(RuntimeSnapshot snapshot, string tenant, int count)
    {
        var t = snapshot.Tenants[tenant];
        for (var i = 0; i < count; i++)
        {
            t.AccessKeys[0].Usage.Count();
            t.Cells[1].Count(200, 10, 20, 0, refusal: -1, quota: false);
        }
    }

    private long Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "usage.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task RemovedTenant_IsReadOnceMoreThenForgotten_CountsStayExact_AddedAgainItsKeyContinues(CancellationToken cancellationToken)
    {
        var first = Load(null, "keep", "gone");
        var holder = new SnapshotHolder(first);
        await using var ledger = new UsageLedger(new UsageLedgerSettings { Path = Path.Combine(_directory, "usage.db"), FlushInterval = TimeSpan.FromHours(1) }, holder, NullLogger.Instance);
        ledger.Start();
        Requests(first, "keep", 3);
        Requests(first, "gone", 2);
        await ledger.FlushAsync();
        var tracked = ledger.Tracked;
        Assert.That(tracked, Is.EqualTo((Cells: 4, Tenants: 2, Keys: 2)), "each tenant's two cells (no route, route api) and key");

        // A reload removes "gone"; one of its requests was still running on the old snapshot and ends after the reload.
        var second = Load(first, "keep");
        holder.Publish(second);
        Requests(first, "gone", 1);
        Requests(second, "keep", 1);
        await ledger.FlushAsync();
        Assert.That(ledger.RemovedTenantsHeld, Is.EqualTo(1), "read once more after the reload");
        await ledger.FlushAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ledger.RemovedTenantsHeld, Is.Zero);
            Assert.That(ledger.Tracked, Is.EqualTo((Cells: 2, Tenants: 1, Keys: 1)), "only what the live snapshot has");
            Assert.That(Scalar("SELECT SUM(requests) FROM usage WHERE tenant = 'gone'"), Is.EqualTo(3), "the request that ended after the reload is written");
            Assert.That(Scalar("SELECT requests FROM keys WHERE tenant = 'gone'"), Is.EqualTo(3), "its key's row stays");
            Assert.That(Scalar("SELECT SUM(requests) FROM usage WHERE tenant = 'keep'"), Is.EqualTo(4));
        }

        // Added again (a new state): its key's requests continue from the ledger's, and nothing is counted twice.
        var third = Load(second, "keep", "gone");
        Assert.That(third.Tenants["gone"].State, Is.Not.SameAs(first.Tenants["gone"].State));
        holder.Publish(third);
        Requests(third, "gone", 1);
        await ledger.FlushAsync();
        for (var reload = 0; reload < 3; reload++)
        {
            var next = Load(holder.Current, "keep", "gone");
            holder.Publish(next);
            Requests(next, "keep", 1);
            await ledger.FlushAsync();
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(third.Tenants["gone"].AccessKeys[0].Usage.Requests, Is.EqualTo(4), "3 from the ledger, 1 counted here");
            Assert.That(Scalar("SELECT requests FROM keys WHERE tenant = 'gone'"), Is.EqualTo(4));
            Assert.That(Scalar("SELECT SUM(requests) FROM usage WHERE tenant = 'gone'"), Is.EqualTo(4));
            Assert.That(Scalar("SELECT requests FROM keys WHERE tenant = 'keep'"), Is.EqualTo(7));
            Assert.That(Scalar("SELECT SUM(requests) FROM usage WHERE tenant = 'keep'"), Is.EqualTo(7));
            Assert.That(ledger.Tracked, Is.EqualTo((Cells: 4, Tenants: 2, Keys: 2)), "reloads that keep the tenants add nothing");
            Assert.That(ledger.RemovedTenantsHeld, Is.Zero);
        }
    }
}
