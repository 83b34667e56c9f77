namespace LoadBalancer.Tests.TestSupport;

/// <summary>A fixture whose tests each get a fresh <see cref="TestCertificates"/> (its CA and a temp directory for lb.toml and the PEM files).</summary>
public abstract class TlsFixture
{
    protected TestCertificates Certs { get; private set; } = null!;

    /// <summary>lb.toml in the certificates' directory, so relative cert and key paths resolve there.</summary>
    protected string ConfigPath => Certs.PathOf("lb.toml");

    [SetUp]
    public void CreateCertificates() => Certs = new TestCertificates();

    [TearDown]
    public void DeleteCertificates() => Certs.Dispose();
}
