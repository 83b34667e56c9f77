using System.Text;
using System.Text.Json.Nodes;
using LoadBalancer.Core.Management;

namespace LoadBalancer.Tests.Unit.Management;

/// <summary>
/// TomlValueWriter's refusals (fuzz findings of the toml-value target, issue 19): JSON values with no TOML form are
/// found with their path before anything is written, and the edge values that have one read back through
/// ConfigDocument as written.
/// </summary>
[TestFixture]
public sealed class TomlValueWriterTests
{
    [TestCase("""{ "a": null }""", "a")]
    [TestCase("""{ "a": [1, 1e400] }""", "a[1]")]
    [TestCase("""{ "a": -1e309 }""", "a")]
    [TestCase("""{ "a": { "b": 9223372036854775808 } }""", "a.b")]
    [TestCase("""{ "a": -99999999999999999999 }""", "a")]
    [TestCase("""{ "a": "x\ud800" }""", "a")]
    [TestCase("""{ "a": "\udc00x" }""", "a")]
    [TestCase("""{ "a": 1e-400 }""", "a")]
    [TestCase("""{ "a": [0.5, -2.4e-324] }""", "a[1]")]
    [TestCase("""{ "a": 0.2000000000000000000001 }""", "a")]
    [TestCase("""{ "a": [3E-11, 5E-31222222222222222222222222222222222222] }""", "a[1]")] // fuzz toml-value: DeepEquals threw on the exponent
    public void FindUnwritable_ValueWithNoTomlForm_GivesItsPath(string json, string path)
    {
        var found = TomlValueWriter.FindUnwritable(JsonNode.Parse(json), "");
        Assert.That(found?.Path, Is.EqualTo(path));
        Assert.That(found?.Reason, Does.Contain("no TOML form"));
    }

    [TestCase("9223372036854775807", "9223372036854775807")]
    [TestCase("-9223372036854775808", "-9223372036854775808")]
    [TestCase("1.7976931348623157e308", "1.7976931348623157E+308")]
    [TestCase("5e-324", "5E-324")]
    [TestCase("1.50e3", "1500")]
    [TestCase("-0.0", "-0")]
    [TestCase("\"\\ud83d\\ude00 \\u0001 \\u007f\"", "\"\\uD83D\\uDE00 \\u0001 \\u007F\"")]
    public void EdgeValue_WithATomlForm_IsWrittenAndReadsBack(string json, string readBack)
    {
        var node = JsonNode.Parse(json)!;
        Assert.That(TomlValueWriter.FindUnwritable(node, ""), Is.Null);
        var document = ConfigDocument.Parse(Encoding.UTF8.GetBytes("k = " + TomlValueWriter.Value(node) + "\n"), "lb.toml");
        Assert.That(document.SyntaxErrors, Is.Empty);
        Assert.That(document.Json!["k"]!.ToJsonString(), Is.EqualTo(readBack));
    }
}
