using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LoadBalancer.Bench.Load;

/// <summary>The run's TLS certificate (--tls): self-signed for *.bench.test, as PEM files every proxy reads.</summary>
internal sealed record BenchCertificate(string CertFile, string KeyFile, string CombinedFile, string Kind)
{
    public static BenchCertificate Create(string directory, string kind)
    {
        using AsymmetricAlgorithm key = kind == "rsa" ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = key is RSA rsa
            ? new CertificateRequest("CN=bench.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest("CN=bench.test", (ECDsa)key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("*.bench.test");
        san.AddDnsName("bench.test");
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certPem = certificate.ExportCertificatePem() + "\n";
        var keyPem = (key is RSA r ? r.ExportPkcs8PrivateKeyPem() : ((ECDsa)key).ExportPkcs8PrivateKeyPem()) + "\n";
        var result = new BenchCertificate(Path.Combine(directory, "bench.pem"), Path.Combine(directory, "bench.key"), Path.Combine(directory, "bench-combined.pem"), kind);
        File.WriteAllText(result.CertFile, certPem);
        File.WriteAllText(result.KeyFile, keyPem);
        File.WriteAllText(result.CombinedFile, certPem + keyPem);
        return result;
    }
}
