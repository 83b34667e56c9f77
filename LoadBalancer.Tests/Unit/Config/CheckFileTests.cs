using LoadBalancer.Core.Config;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary><c>lb check</c>'s load: validated like a start, compiled only as far as its DNS lookups need.</summary>
[TestFixture]
public sealed class CheckFileTests
{
    private const string Toml = """
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "a"
        match = ["a.test"]
        pool = "literal"

        [[tenants]]
        name = "b"
        match = ["b.test"]
        pool = "named"

        [[pools]]
        name = "literal"
        backends = [{ address = "127.0.0.1:9001" }, { address = "127.0.0.1:9002" }]

        [[pools]]
        name = "named"
        backends = [{ address = "backend.internal:80" }, { address = "127.0.0.1:9003" }]
        """;

    [Test]
    public void CheckFile_Valid_SameSummaryAsLoad_OnlyNamedPoolsCompiled()
    {
        var path = Path.Combine(Path.GetTempPath(), $"lb-check-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, Toml);
        try
        {
            var checkedFile = ConfigLoader.CheckFile(path);
            var loaded = ConfigLoader.LoadFile(path);
            Assert.That(checkedFile.Success, Is.True, () => string.Join("\n", checkedFile.Errors));
            Assert.That(checkedFile.Summary, Is.EqualTo(loaded.Summary));
            Assert.That(checkedFile.Summary, Does.EndWith("OK: 1 listener, 2 tenants, 2 pools, 4 backends"));
            Assert.That(checkedFile.Snapshot!.Pools.Keys, Is.EquivalentTo(new[] { "named" }));
            Assert.That(checkedFile.Snapshot.Pools["named"].DnsTargets.Select(t => t.Host), Is.EqualTo(new[] { "backend.internal" }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void CheckFile_Invalid_SameErrorsAsLoad()
    {
        var path = Path.Combine(Path.GetTempPath(), $"lb-check-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, Toml.Replace("pool = \"named\"", "pool = \"missing\"", StringComparison.Ordinal));
        try
        {
            var checkedFile = ConfigLoader.CheckFile(path);
            Assert.That(checkedFile.Success, Is.False);
            Assert.That(checkedFile.Errors.Select(e => e.ToString()), Is.EqualTo(ConfigLoader.LoadFile(path).Errors.Select(e => e.ToString())));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
