using NUnit.Framework;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Tests.Unit.Config;

internal static class ConfigTestHelpers
{
    public const string FileName = "lb.toml";

    /// <summary>
    /// One listener "web" (its sixth line is <paramref name="listenerLine"/>, for positions in errors), one tenant "t"
    /// (a.test) on pool "p" with one backend.
    /// </summary>
    public static string OneListener(string listenerLine, string protocol = "http") => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        protocol = "{{protocol}}"
        default_tenant = "t"
        {{listenerLine}}

        [[tenants]]
        name = "t"
        match = ["a.test"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [{ address = "127.0.0.1:9001" }]
        """;

    public static ConfigLoadResult Load(string toml) => ConfigLoader.LoadText(toml, FileName);

    /// <summary>Asserts the config is refused with exactly one error, at the given place, whose message mentions <paramref name="says"/>.</summary>
    public static ConfigError SingleError(string toml, string path, int line, int column, string says)
    {
        var result = Load(toml);
        Assert.That(result.Success, Is.False, "config should have been refused");
        Assert.That(result.Errors, Has.Count.EqualTo(1), () => string.Join(Environment.NewLine, result.Errors));
        var error = result.Errors[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.File, Is.EqualTo(FileName));
            Assert.That(error.Path, Is.EqualTo(path), error.ToString);
            Assert.That((error.Line, error.Column), Is.EqualTo((line, column)), error.ToString);
            Assert.That(error.Message, Does.Contain(says), error.ToString);
        }

        return error;
    }
}
