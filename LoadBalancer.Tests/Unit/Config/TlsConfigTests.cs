using System.Security.Authentication;
using LoadBalancer.Core.Config;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>A listener's <c>tls</c>: every file problem is refused at its lb.toml entry with the file's own error.</summary>
[TestFixture]
public sealed class TlsConfigTests : TlsFixture
{
    // The tls line is line 4; its first certificate's cert value starts at column 35.
    private static string Toml(string tls, string listenerExtra = "", string match = "a.test") =>
        $"[[listeners]]\nname = \"web\"\nlisten = \"127.0.0.1:0\"\ntls = {tls}\n{listenerExtra}\n[[tenants]]\nname = \"t\"\nmatch = [\"{match}\"]\npool = \"p\"\n[[pools]]\nname = \"p\"\nbackends = [{{ address = \"127.0.0.1:9001\" }}]\n";

    private static string Certificates(string cert, string key, string extra = "") => $"{{ certificates = [ {{ cert = \"{cert}\", key = \"{key}\" }} ]{extra} }}";

    private ConfigLoadResult Load(string toml) => ConfigLoader.LoadText(toml, ConfigPath);

    private ConfigError SingleError(string toml, string path, int line, int column, string says)
    {
        var result = Load(toml);
        Assert.That(result.Success, Is.False, "config should have been refused");
        Assert.That(result.Errors, Has.Count.EqualTo(1), () => string.Join(Environment.NewLine, result.Errors));
        var error = result.Errors[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Path, Is.EqualTo(path), error.ToString);
            Assert.That((error.Line, error.Column), Is.EqualTo((line, column)), error.ToString);
            Assert.That(error.Message, Does.Contain(says), error.ToString);
        }

        return error;
    }

    [Test]
    public void LoadText_TlsListener_CompilesCertificatesAndSettings()
    {
        var (cert, key, _) = Certs.Issue("a", ["a.test"]);
        var result = Load(Toml(Certificates(cert, key, ", min_version = \"1.3\", strict_sni = true, handshake_timeout = \"3s\"")));

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var tls = result.Snapshot!.Listeners[0].Tls!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(tls.Protocols, Is.EqualTo(SslProtocols.Tls13));
            Assert.That(tls.StrictSni, Is.True);
            Assert.That(tls.HandshakeTimeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(tls.Certificates.Single().Names, Is.EqualTo(new[] { "a.test" }));
            Assert.That(result.Warnings, Is.Empty);
        }
    }

    [Test]
    public void LoadText_TlsDefaults_Tls12And13_NotStrict_TenSeconds()
    {
        var (cert, key, _) = Certs.Issue("a", ["a.test"]);
        var tls = Load(Toml(Certificates(cert, key))).Snapshot!.Listeners[0].Tls!;

        Assert.That((tls.Protocols, tls.StrictSni, tls.HandshakeTimeout), Is.EqualTo((SslProtocols.Tls12 | SslProtocols.Tls13, false, TimeSpan.FromSeconds(10))));
    }

    [Test]
    public void LoadText_KeyOfAnotherCertificate_RefusedAtKeyWithFileError()
    {
        var (cert, _, _) = Certs.Issue("a", ["a.test"]);
        var (_, otherKey, _) = Certs.Issue("b", ["b.test"]);

        var error = SingleError(Toml(Certificates(cert, otherKey)), "listeners[0].tls.certificates[0].key", 4, 50, "key does not match certificate");
        Assert.That(error.ToString(), Does.StartWith($"{ConfigPath}:4:50: listeners[0].tls.certificates[0].key: \"b.key\": b.key: key does not match certificate"));
    }

    [Test]
    public void LoadText_RsaKeyForEcdsaCertificate_RefusedAsMismatch()
    {
        var (cert, _, _) = Certs.Issue("a", ["a.test"]);
        var (_, rsaKey, _) = Certs.Issue("r", ["r.test"], rsa: true);

        SingleError(Toml(Certificates(cert, rsaKey)), "listeners[0].tls.certificates[0].key", 4, 50, "key does not match certificate (an RSA key for an ECDSA certificate)");
    }

    [Test]
    public void LoadText_CertificateFileWithoutCertificate_RefusedAtCert()
    {
        var (_, key, _) = Certs.Issue("a", ["a.test"]);
        File.WriteAllText(Certs.PathOf("empty.pem"), "not a certificate\n");

        SingleError(Toml(Certificates("empty.pem", key)), "listeners[0].tls.certificates[0].cert", 4, 35, "no certificate in file");
    }

    [Test]
    public void LoadText_KeyFileWithoutKey_RefusedAtKey()
    {
        var (cert, _, _) = Certs.Issue("a", ["a.test"]);

        SingleError(Toml(Certificates(cert, cert)), "listeners[0].tls.certificates[0].key", 4, 50, "no private key in file");
    }

    [Test]
    public void LoadText_MissingFile_RefusedWithReadError()
    {
        var (_, key, _) = Certs.Issue("a", ["a.test"]);

        SingleError(Toml(Certificates("missing.pem", key)), "listeners[0].tls.certificates[0].cert", 4, 35, "cannot read certificate file");
    }

    [Test]
    public void LoadText_ExpiredCertificate_RefusedWithDate()
    {
        var notAfter = DateTimeOffset.UtcNow.AddDays(-3);
        var (cert, key, _) = Certs.Issue("old", ["a.test"], notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: notAfter);

        SingleError(Toml(Certificates(cert, key)), "listeners[0].tls.certificates[0].cert", 4, 35, $"expired on {notAfter.UtcDateTime:yyyy-MM-dd}");
    }

    [Test]
    public void LoadText_CertificateExpiringSoon_AcceptedWithWarning()
    {
        var (cert, key, _) = Certs.Issue("soon", ["a.test"], notAfter: DateTimeOffset.UtcNow.AddDays(5).AddHours(1));

        var result = Load(Toml(Certificates(cert, key)));
        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var warning = result.Warnings.Single();
        Assert.That(warning.ToString(), Does.StartWith($"{ConfigPath}:4:35: listeners[0].tls.certificates[0].cert: \"soon.pem\" expires on"));
        Assert.That(warning.Message, Does.EndWith("(in 5 days)"));
    }

    [Test]
    public void LoadText_HostNoCertificateCovers_AcceptedWithWarning()
    {
        var (cert, key, _) = Certs.Issue("w", ["*.b.test"]);

        var covered = Load(Toml(Certificates(cert, key), match: "x.b.test"));
        var uncovered = Load(Toml(Certificates(cert, key), match: "y.x.b.test"));

        Assert.That(covered.Warnings, Is.Empty);
        Assert.That(uncovered.Warnings.Single().ToString(), Is.EqualTo($"{ConfigPath}:8:10: tenants[0].match[0]: no certificate of listener \"web\" covers \"y.x.b.test\""));
    }

    [Test]
    public void LoadText_MinVersion11_Refused()
    {
        var (cert, key, _) = Certs.Issue("a", ["a.test"]);

        SingleError(Toml(Certificates(cert, key, ", min_version = \"1.1\"")), "listeners[0].tls.min_version", 4, 77, "must be \"1.2\" or \"1.3\"");
    }

    [Test]
    public void LoadText_NoCertificates_Refused()
    {
        SingleError(Toml("{ certificates = [] }"), "listeners[0].tls.certificates", 4, 24, "must list at least one");
    }

    [Test]
    public void LoadText_UnknownTlsKey_RefusedWithSuggestion()
    {
        var (cert, key, _) = Certs.Issue("a", ["a.test"]);

        SingleError(Toml(Certificates(cert, key, ", strict_sin = true")), "listeners[0].tls.strict_sin", 4, 63, "did you mean `strict_sni`?");
    }

    [Test]
    public void LoadText_TlsOnTcpListener_Accepted_OffersNoAlpn()
    {
        var (cert, key, _) = Certs.Issue("a", ["a.test"]);

        var result = Load(Toml(Certificates(cert, key), "protocol = \"tcp\"\ndefault_tenant = \"t\""));
        Assert.That(result.Errors.Select(e => e.Path), Does.Not.Contain("listeners[0].tls"));
    }

    [Test]
    public void LoadText_ClientAuthCaWithoutCertificate_Refused()
    {
        var (cert, key, _) = Certs.Issue("a", ["a.test"]);
        File.WriteAllText(Certs.PathOf("bad-ca.pem"), "nothing\n");

        var error = SingleError(Toml(Certificates(cert, key, ", client_auth = { ca = \"bad-ca.pem\" }")), "listeners[0].tls.client_auth.ca", 4, 84, "no certificate in file");
        Assert.That(error.Message, Does.StartWith("\"bad-ca.pem\""));
    }

    [Test]
    public void LoadText_ReadmeTlsExample_Parses()
    {
        var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "README.md")))
        {
            directory = directory.Parent;
        }

        Assert.That(directory, Is.Not.Null, "README.md above the test directory");
        var readme = File.ReadAllText(Path.Combine(directory!.FullName, "README.md"));
        var start = readme.IndexOf("```toml\n[[listeners]]\nname = \"web-tls\"", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "the TLS example in README.md");
        var example = readme[(start + 8)..readme.IndexOf("```", start + 8, StringComparison.Ordinal)].Replace("0.0.0.0:443", "127.0.0.1:0", StringComparison.Ordinal);
        Certs.Issue("a", ["a.test"]);
        Certs.Issue("a-rsa", ["a.test"], rsa: true);
        File.Copy(Certs.CaFile, Certs.PathOf("clients.pem"));

        var result = Load(example + "\n[[tenants]]\nname = \"t\"\nmatch = [\"a.test\"]\npool = \"p\"\n[[pools]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:9001\" }]\n");

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        Assert.That(result.Snapshot!.Listeners[0].Tls!.ClientAuth!.Required, Is.True);
    }

    private static string PoolToml(string tls) =>
        $"[[listeners]]\nname = \"web\"\nlisten = \"127.0.0.1:0\"\n[[tenants]]\nname = \"t\"\nmatch = [\"a.test\"]\npool = \"p\"\n[[pools]]\nname = \"p\"\nbackends = [{{ address = \"127.0.0.1:9001\" }}]\ntls = {tls}\n";

    [Test]
    public void LoadText_PoolTls_Compiles()
    {
        var result = Load(PoolToml("{ sni = \"api.test\", ca = \"ca.pem\" }"));

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var tls = result.Snapshot!.Pools["p"].Tls!;
        Assert.That((tls.Sni, tls.Verify), Is.EqualTo(("api.test", true)));
        Assert.That(result.Snapshot.TlsFiles(), Does.Contain(Certs.CaFile));
    }

    [Test]
    public void LoadText_PoolTlsBadSni_Refused()
    {
        SingleError(PoolToml("{ sni = \"not a name\" }"), "pools[0].tls.sni", 11, 15, "must be a DNS name");
    }

    [Test]
    public void LoadText_PoolTlsClientCertWithoutKey_Refused()
    {
        var (cert, _, _) = Certs.Issue("c", [], clientAuth: true);

        SingleError(PoolToml($"{{ client_cert = \"{cert}\" }}"), "pools[0].tls.client_cert", 11, 23, "client_cert and client_key go together");
    }

    [Test]
    public void LoadText_PoolTlsClientKeyMismatch_RefusedAtKey()
    {
        var (cert, _, _) = Certs.Issue("c", [], clientAuth: true);
        var (_, other, _) = Certs.Issue("d", [], clientAuth: true);

        SingleError(PoolToml($"{{ client_cert = \"{cert}\", client_key = \"{other}\" }}"), "pools[0].tls.client_key", 11, 45, "key does not match certificate");
    }
}
