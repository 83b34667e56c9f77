namespace LoadBalancer.Core.Config;

/// <summary>Reads a listener's <c>tls</c> table.</summary>
internal static partial class TomlConfigLoader
{
    private static readonly string[] TlsKeys = ["certificates", "min_version", "strict_sni", "handshake_timeout", "client_auth"];
    private static readonly string[] TlsCertificateKeys = ["cert", "key"];
    private static readonly string[] ClientAuthKeys = ["ca", "required"];
    private static readonly string[] PoolTlsKeys = ["sni", "verify", "ca", "client_cert", "client_key"];

    private static LbPoolTlsSection? ReadPoolTls(TomlNode table, string path, ConfigErrorList errors)
    {
        if (InlineTable(table, path, "tls", PoolTlsKeys, errors) is not { } tls)
        {
            return null;
        }

        var tlsPath = Join(path, "tls");
        return new LbPoolTlsSection
        {
            Path = tlsPath,
            Position = tls.Position,
            Sni = String(tls, tlsPath, "sni", required: false, errors),
            Verify = Boolean(tls, tlsPath, "verify", errors),
            Ca = String(tls, tlsPath, "ca", required: false, errors),
            ClientCert = String(tls, tlsPath, "client_cert", required: false, errors),
            ClientKey = String(tls, tlsPath, "client_key", required: false, errors),
        };
    }

    private static LbTlsSection? ReadListenerTls(TomlNode table, string path, ConfigErrorList errors)
    {
        if (InlineTable(table, path, "tls", TlsKeys, errors) is not { } tls)
        {
            return null;
        }

        var tlsPath = Join(path, "tls");
        var section = new LbTlsSection
        {
            Path = tlsPath,
            Position = tls.Position,
            MinVersion = String(tls, tlsPath, "min_version", required: false, errors),
            StrictSni = Boolean(tls, tlsPath, "strict_sni", errors),
            HandshakeTimeout = String(tls, tlsPath, "handshake_timeout", required: false, errors),
        };

        var certificates = ArrayOfTables(tls, tlsPath, "certificates", TlsCertificateKeys, "{ cert = \"a.pem\", key = \"a.key\" }", errors, out var certificatesPosition);
        if (tls.Get("certificates") is null)
        {
            errors.AddRequired(tls.Position, Join(tlsPath, "certificates"), "is required: at least one { cert = \"a.pem\", key = \"a.key\" }");
        }
        else if (certificates is not null)
        {
            section.CertificatesPosition = certificatesPosition;
            section.Certificates = [];
            foreach (var (item, itemPath) in certificates)
            {
                section.Certificates.Add(new LbTlsCertificateEntry
                {
                    Path = itemPath,
                    Position = item.Position,
                    Cert = String(item, itemPath, "cert", required: true, errors),
                    Key = String(item, itemPath, "key", required: true, errors),
                });
            }
        }

        if (InlineTable(tls, tlsPath, "client_auth", ClientAuthKeys, errors) is { } clientAuth)
        {
            var clientAuthPath = Join(tlsPath, "client_auth");
            section.ClientAuthPosition = clientAuth.Position;
            section.ClientAuthCa = String(clientAuth, clientAuthPath, "ca", required: true, errors);
            section.ClientAuthRequired = Boolean(clientAuth, clientAuthPath, "required", errors);
        }

        return section;
    }
}
