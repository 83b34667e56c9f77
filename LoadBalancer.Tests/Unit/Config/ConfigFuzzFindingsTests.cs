using NUnit.Framework;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>Regression tests for what the LoadBalancer.Fuzz `config` target found (issue 19).</summary>
[TestFixture]
public sealed class ConfigFuzzFindingsTests
{
    [Test]
    public void LoadText_ArraysNestedDeeperThanTomlynAllows_IsAnErrorNotAnException()
    {
        // config target, "no exception escapes": Tomlyn throws TomlException past 64 levels of nesting.
        var text = "[server]\nx = " + new string('[', 100) + new string(']', 100) + "\n";

        var result = ConfigLoader.LoadText(text, "lb.toml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Success, Is.False);
            Assert.That(result.Errors, Has.Count.EqualTo(1));
            Assert.That(result.Errors[0].Message, Does.Contain("depth"));
            Assert.That(result.Errors[0].Line, Is.GreaterThanOrEqualTo(1));
        });
    }

    [Test]
    public void LoadText_InlineTablesNestedDeeperThanTomlynAllows_IsAnErrorNotAnException()
    {
        var text = "x = " + string.Concat(Enumerable.Repeat("{a=", 100)) + "1" + new string('}', 100) + "\n";

        var result = ConfigLoader.LoadText(text, "lb.toml");

        Assert.That(result.Success, Is.False);
    }
}
