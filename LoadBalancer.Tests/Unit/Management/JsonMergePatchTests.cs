using System.Text.Json.Nodes;
using LoadBalancer.Core.Management;

namespace LoadBalancer.Tests.Unit.Management;

/// <summary>RFC 7396's merge patch (its Appendix A examples) and If-Match's strong comparison.</summary>
[TestFixture]
public sealed class JsonMergePatchTests
{
    [TestCase("""{"a":"b"}""", """{"a":"c"}""", """{"a":"c"}""")]
    [TestCase("""{"a":"b"}""", """{"b":"c"}""", """{"a":"b","b":"c"}""")]
    [TestCase("""{"a":"b"}""", """{"a":null}""", """{}""")]
    [TestCase("""{"a":"b","b":"c"}""", """{"a":null}""", """{"b":"c"}""")]
    [TestCase("""{"a":["b"]}""", """{"a":"c"}""", """{"a":"c"}""")]
    [TestCase("""{"a":"c"}""", """{"a":["b"]}""", """{"a":["b"]}""")]
    [TestCase("""{"a":{"b":"c"}}""", """{"a":{"b":"d","c":null}}""", """{"a":{"b":"d"}}""")]
    [TestCase("""{"a":[{"b":"c"}]}""", """{"a":[1]}""", """{"a":[1]}""")]
    [TestCase("""["a","b"]""", """["c","d"]""", """["c","d"]""")]
    [TestCase("""{"a":"b"}""", """["c"]""", """["c"]""")]
    [TestCase("""{"e":null}""", """{"a":1}""", """{"e":null,"a":1}""")]
    [TestCase("""[1,2]""", """{"a":"b","c":null}""", """{"a":"b"}""")]
    [TestCase("""{}""", """{"a":{"bb":{"ccc":null}}}""", """{"a":{"bb":{}}}""")]
    public void Apply_Rfc7396AppendixA(string target, string patch, string expected)
    {
        var before = JsonNode.Parse(target);
        var result = JsonMergePatch.Apply(before, JsonNode.Parse(patch));

        Assert.That(JsonNode.DeepEquals(result, JsonNode.Parse(expected)), Is.True, result?.ToJsonString());
        Assert.That(before!.ToJsonString(), Is.EqualTo(JsonNode.Parse(target)!.ToJsonString()), "the target is not modified");
    }

    [Test]
    public void Matches_StrongListOrStar_NeverWeak()
    {
        const string etag = "\"abc\"";

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ConfigEtag.Matches("\"abc\"", etag), Is.True);
            Assert.That(ConfigEtag.Matches("\"x\", \"abc\"", etag), Is.True);
            Assert.That(ConfigEtag.Matches("*", etag), Is.True);
            Assert.That(ConfigEtag.Matches("W/\"abc\"", etag), Is.False);
            Assert.That(ConfigEtag.Matches("\"abd\"", etag), Is.False);
            Assert.That(ConfigEtag.Of("x"u8), Is.EqualTo("\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\""));
        }
    }
}
