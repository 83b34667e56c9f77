using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A throwaway CA and the PEM files a test's lb.toml points at: leaf certificates (ECDSA P-256 or RSA-2048) for given
/// DNS names, signed by the CA, written into a temp directory the test owns. Also expired and mismatched pairs.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly ECDsa _caKey;

    public TestCertificates(string caName = "lb test CA")
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("lb-tls-").FullName;
        _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={caName}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddYears(1));
        CaFile = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(CaFile, Authority.ExportCertificatePem());
    }

    public string Directory { get; }

    /// <summary>The CA certificate (public part), for clients' trust.</summary>
    public X509Certificate2 Authority { get; }

    public string CaFile { get; }

    /// <summary>
    /// Writes <c>NAME.pem</c> (leaf then CA) and <c>NAME.key</c>; returns the file names (relative to <see cref="Directory"/>)
    /// and the leaf.
    /// </summary>
    public (string Cert, string Key, X509Certificate2 Leaf) Issue(
        string name, string[] dnsNames, bool rsa = false, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool clientAuth = false, string[]? ipAddresses = null)
    {
        using AsymmetricAlgorithm key = rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = rsa
            ? new CertificateRequest($"CN={dnsNames.FirstOrDefault() ?? name}", (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest($"CN={dnsNames.FirstOrDefault() ?? name}", (ECDsa)key, HashAlgorithmName.SHA256);
        if (dnsNames.Length > 0 || ipAddresses is { Length: > 0 })
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var dns in dnsNames)
            {
                san.AddDnsName(dns);
            }

            foreach (var address in ipAddresses ?? [])
            {
                san.AddIpAddress(System.Net.IPAddress.Parse(address));
            }

            request.CertificateExtensions.Add(san.Build());
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(clientAuth ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1")], false));

        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        var leaf = request.Create(Authority.SubjectName, X509SignatureGenerator.CreateForECDsa(_caKey),
            notBefore ?? DateTimeOffset.UtcNow.AddDays(-1), notAfter ?? DateTimeOffset.UtcNow.AddDays(90), serial);
        File.WriteAllText(Path.Combine(Directory, $"{name}.pem"), leaf.ExportCertificatePem() + "\n" + Authority.ExportCertificatePem());
        File.WriteAllText(Path.Combine(Directory, $"{name}.key"), rsa ? ((RSA)key).ExportPkcs8PrivateKeyPem() : ((ECDsa)key).ExportPkcs8PrivateKeyPem());
        return ($"{name}.pem", $"{name}.key", leaf);
    }

    /// <summary>The leaf with its private key, for a client certificate (mTLS).</summary>
    public X509Certificate2 IssueClient(string name)
    {
        var (cert, key, _) = Issue(name, [], clientAuth: true);
        return LoadWithKey(cert, key);
    }

    /// <summary>A certificate written by <see cref="Issue"/>, with its key, usable by SslStream on either side.</summary>
    public X509Certificate2 LoadWithKey(string cert, string key)
    {
        using var loaded = X509Certificate2.CreateFromPemFile(Path.Combine(Directory, cert), Path.Combine(Directory, key));
        return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
    }

    public string PathOf(string file) => Path.Combine(Directory, file);

    /// <summary>Validates a server certificate against this CA only.</summary>
    public bool Validate(X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    public void Dispose()
    {
        _caKey.Dispose();
        Authority.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory.
        }
    }
}
