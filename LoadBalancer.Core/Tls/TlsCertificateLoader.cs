using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// Reads a PEM certificate chain and its PEM private key (RSA or ECDSA; PKCS#1, SEC1 or PKCS#8), and says in plain words
/// what is wrong with them: the file cannot be read, holds no certificate or no key, the key does not match, or the
/// certificate has expired. Runs on the config path (validation), never on a connection.
/// </summary>
internal static class TlsCertificateLoader
{
    public static bool TryLoad(string certFile, string keyFile, DateTime utcNow, out TlsCertificate? certificate, out string error, out bool aboutKey)
    {
        certificate = null;
        aboutKey = false;
        byte[] certBytes;
        byte[] keyBytes;
        try
        {
            certBytes = File.ReadAllBytes(certFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"cannot read certificate file: {e.Message}";
            return false;
        }

        try
        {
            keyBytes = File.ReadAllBytes(keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"cannot read key file: {e.Message}";
            aboutKey = true;
            return false;
        }

        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(System.Text.Encoding.ASCII.GetString(certBytes));
        }
        catch (CryptographicException e)
        {
            error = $"{Path.GetFileName(certFile)}: not a PEM certificate chain: {e.Message}";
            return false;
        }

        if (chain.Count == 0)
        {
            error = $"{Path.GetFileName(certFile)}: no certificate in file (expected -----BEGIN CERTIFICATE-----)";
            return false;
        }

        var leaf = chain[0];
        var keyText = System.Text.Encoding.ASCII.GetString(keyBytes);
        X509Certificate2 withKey;
        bool isEcdsa;
        try
        {
            var publicKey = (AsymmetricAlgorithm?)leaf.GetECDsaPublicKey() ?? leaf.GetRSAPublicKey();
            if (publicKey is null)
            {
                error = $"{Path.GetFileName(certFile)}: the certificate's key is neither RSA nor ECDSA";
                return false;
            }

            isEcdsa = publicKey is ECDsa;
            using (publicKey)
            {
                using AsymmetricAlgorithm key = isEcdsa ? ECDsa.Create() : RSA.Create();
                if (!TryImportKey(key, keyText, out error))
                {
                    error = $"{Path.GetFileName(keyFile)}: {error}";
                    aboutKey = true;
                    return false;
                }

                if (!key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(publicKey.ExportSubjectPublicKeyInfo()))
                {
                    error = $"{Path.GetFileName(keyFile)}: key does not match certificate {Path.GetFileName(certFile)}";
                    aboutKey = true;
                    return false;
                }

                withKey = key is ECDsa ecdsa ? leaf.CopyWithPrivateKey(ecdsa) : leaf.CopyWithPrivateKey((RSA)key);
            }
        }
        catch (CryptographicException e)
        {
            aboutKey = true;
            error = $"{Path.GetFileName(keyFile)}: {e.Message}";
            return false;
        }

        if (withKey.NotAfter.ToUniversalTime() < utcNow)
        {
            error = $"{Path.GetFileName(certFile)}: expired on {withKey.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC";
            return false;
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        var hash = new byte[32];
        using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            sha.AppendData(certBytes);
            sha.AppendData(keyBytes);
            sha.GetHashAndReset(hash);
        }

        certificate = new TlsCertificate
        {
            Leaf = withKey,
            Intermediates = intermediates,
            Names = NamesOf(withKey),
            IsEcdsa = isEcdsa,
            ContentHash = hash,
            CertFile = certFile,
            KeyFile = keyFile,
        };
        error = "";
        return true;
    }

    /// <summary>The certificate's DNS names from its SAN, lower case; the subject CN when it has no SAN DNS name.</summary>
    public static string[] NamesOf(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                foreach (var name in san.EnumerateDnsNames())
                {
                    names.Add(name.ToLowerInvariant());
                }
            }
        }

        if (names.Count == 0 && certificate.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } cn)
        {
            names.Add(cn.ToLowerInvariant());
        }

        return [.. names];
    }

    private static bool TryImportKey(AsymmetricAlgorithm key, string pem, out string error)
    {
        if (!pem.Contains("-----BEGIN", StringComparison.Ordinal) || !pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            error = "no private key in file (expected -----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----)";
            return false;
        }

        if (pem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
        {
            error = "the key is encrypted; lb needs an unencrypted PEM key";
            return false;
        }

        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            using AsymmetricAlgorithm other = key is RSA ? ECDsa.Create() : RSA.Create();
            try
            {
                other.ImportFromPem(pem);
                error = $"key does not match certificate (an {(key is RSA ? "ECDSA" : "RSA")} key for an {(key is RSA ? "RSA" : "ECDSA")} certificate)";
            }
            catch (Exception other2) when (other2 is CryptographicException or ArgumentException)
            {
                error = $"not a usable {(key is RSA ? "RSA" : "ECDSA")} private key: {e.Message}";
            }

            return false;
        }

        error = "";
        return true;
    }
}
