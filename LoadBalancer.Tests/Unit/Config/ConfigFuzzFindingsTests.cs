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

    // config target, "no exception escapes": a basic string whose backslash is the last character of the text (a file
    // cut short mid-write) makes Tomlyn's lexer format "end of file" as a code point and throw
    // ArgumentOutOfRangeException. The escapes beside it were already errors and stay so.
    [TestCase("a = \"\\", TestName = "LoadText_BackslashAtEndOfText_IsAnErrorNotAnException")]
    [TestCase("\"\\", TestName = "LoadText_BackslashAtEndOfTextInKey_IsAnErrorNotAnException")]
    [TestCase("a = \"\"\"\\", TestName = "LoadText_BackslashAtEndOfTextInMultilineString_IsAnErrorNotAnException")]
    [TestCase("a = \"\\uD800\"\n", TestName = "LoadText_SurrogateEscape_IsAnError")]
    [TestCase("a = \"\\U00110000\"\n", TestName = "LoadText_EscapePastUnicode_IsAnError")]
    public void LoadText_BrokenEscape_IsAnError(string text)
    {
        var result = ConfigLoader.LoadText(text, "lb.toml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Success, Is.False);
            Assert.That(result.Errors, Is.Not.Empty);
        });
    }
}
