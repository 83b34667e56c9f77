using LoadBalancer.Core.Config;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>Errors a user fixes from the top: one per mistake, not its cascade, and a suggestion for a misspelt key.</summary>
[TestFixture]
public sealed class ConfigErrorReportingTests
{
    private const string Valid = """
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "acme"
        match = ["acme.example.com"]
        pool = "p"

        [[pools]]
        name = "p"
        balancer = "round-robin"
        backends = [{ address = "127.0.0.1:9001" }]
        """;

    [Test]
    public void TwoIndependentSyntaxErrors_EachReportedOnce_NothingFromTheirCascade()
    {
        var toml = Valid
            .Replace("name = \"acme\"", "name = \"acme", StringComparison.Ordinal)
            .Replace("balancer = \"round-robin\"", "balancer = round-robin", StringComparison.Ordinal);

        var errors = Load(toml).Errors.Select(e => e.ToString()).ToList();

        Assert.That(errors, Is.EqualTo(new[]
        {
            "lb.toml:6:13: Invalid newline in a string",
            "lb.toml:12:12: Unexpected token `round` for a value",
        }));
    }

    [Test]
    public void UnterminatedMultiLineString_OneError()
        => Assert.That(Load(Valid + "\nx = \"\"\"never closed\n").Errors, Has.Count.EqualTo(1));

    [Test]
    public void MisspeltKey_SuggestsTheClosest_AndItsMissingRequiredKeyIsNotReportedAgain()
        => SingleError(Valid.Replace("pool = \"p\"", "pol = \"p\"", StringComparison.Ordinal), "tenants[0].pol", 8, 1, "unknown key, did you mean `pool`?");

    [TestCase("max-in-flight = 5", "tenants[0].max-in-flight", "`max_in_flight`")]
    [TestCase("Match = [\"x\"]", "tenants[0].Match", "`match`")]
    [TestCase("ratelimit = 5", "tenants[0].ratelimit", "`rate_limit`")]
    public void NearKeys_GetASuggestion(string line, string path, string suggestion)
    {
        var errors = Load(Valid.Replace("pool = \"p\"", $"pool = \"p\"\n{line}", StringComparison.Ordinal)).Errors;
        Assert.That(errors.Single(e => e.Path == path).Message, Is.EqualTo($"unknown key, did you mean {suggestion}?"));
    }

    [Test]
    public void FarKey_ListsTheValidKeysInstead()
        => SingleError(Valid.Replace("pool = \"p\"", "pool = \"p\"\ncolour = 1", StringComparison.Ordinal), "tenants[0].colour", 9, 1, "unknown key (expected one of: name, match, pool,");

    [Test]
    public void ErrorAt_PositionsAPathFoundAfterLoading()
        => Assert.That(ConfigLoader.ErrorAt(Valid, "lb.toml", "pools[0].backends[0].address", "x").ToString(), Is.EqualTo("lb.toml:13:25: pools[0].backends[0].address: x"));
}
