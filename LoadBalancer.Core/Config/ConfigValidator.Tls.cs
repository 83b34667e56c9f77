using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Tls;

namespace LoadBalancer.Core.Config;

/// <summary>
/// A listener's <c>tls</c>: the files are read here (relative to lb.toml's directory), and each problem is reported at
/// its lb.toml entry with the file's own error ("key does not match certificate", "no certificate in file", "expired
/// on ..."). Loaded certificates stay on the DTO for the compiler, so a file is read once per load.
/// </summary>
internal static partial class ConfigValidator
{
    /// <summary>A certificate that expires sooner than this is reported as a warning (lb check), not an error.</summary>
    internal static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(14);

    private static void ValidateListenerTls(LbListenerSection listener, ListenerInfo info, ConfigErrorList errors)
    {
        if (listener.Tls is not { } tls)
        {
            return;
        }

        if (info.Protocol == ListenerProtocol.Tcp)
        {
            errors.Add(tls.Position, tls.Path, "applies to http listeners only for now (a tcp listener passes TLS through, routing on the SNI)");
            return;
        }

        if (tls.MinVersion is { } minVersion && minVersion.Value is not ("1.2" or "1.3"))
        {
            errors.Add(minVersion.Position, TomlConfigLoader.Join(tls.Path, "min_version"), $"must be \"1.2\" or \"1.3\", not \"{minVersion.Value}\"");
        }

        CheckDuration(tls.HandshakeTimeout, TomlConfigLoader.Join(tls.Path, "handshake_timeout"), errors);
        if (tls.Certificates is { Count: 0 })
        {
            errors.Add(tls.CertificatesPosition, TomlConfigLoader.Join(tls.Path, "certificates"), "must list at least one { cert = \"a.pem\", key = \"a.key\" }");
        }

        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(errors.File)) ?? ".";
        var now = DateTime.UtcNow;
        foreach (var entry in tls.Certificates ?? [])
        {
            if (entry.Cert is not { } cert || entry.Key is not { } key)
            {
                continue;
            }

            var certFile = Path.Combine(baseDirectory, cert.Value);
            var keyFile = Path.Combine(baseDirectory, key.Value);
            if (!TlsCertificateLoader.TryLoad(certFile, keyFile, now, out var loaded, out var error, out var aboutKey))
            {
                var (position, path, file) = aboutKey
                    ? (key.Position, TomlConfigLoader.Join(entry.Path, "key"), key.Value)
                    : (cert.Position, TomlConfigLoader.Join(entry.Path, "cert"), cert.Value);
                errors.Add(position, path, $"\"{file}\": {error}");
                continue;
            }

            entry.Loaded = loaded;
            if (loaded!.NotAfter - now < ExpiryWarning)
            {
                var days = (int)Math.Floor((loaded.NotAfter - now).TotalDays);
                errors.AddWarning(cert.Position, TomlConfigLoader.Join(entry.Path, "cert"), $"\"{cert.Value}\" expires on {loaded.NotAfter.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC (in {days} day{(days == 1 ? "" : "s")})");
            }
        }

        if (tls.ClientAuthCa is { } ca)
        {
            var path = TomlConfigLoader.Join(tls.Path, "client_auth.ca");
            try
            {
                var caFile = Path.Combine(baseDirectory, ca.Value);
                var bytes = File.ReadAllBytes(caFile);
                var authorities = new X509Certificate2Collection();
                authorities.ImportFromPem(System.Text.Encoding.ASCII.GetString(bytes));
                if (authorities.Count == 0)
                {
                    errors.Add(ca.Position, path, $"\"{ca.Value}\": no certificate in file (expected -----BEGIN CERTIFICATE-----)");
                }
                else
                {
                    tls.LoadedClientCa = authorities;
                    tls.ClientCaHash = SHA256.HashData(bytes);
                    tls.ClientCaFile = caFile;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or CryptographicException)
            {
                errors.Add(ca.Position, path, $"\"{ca.Value}\": cannot read: {e.Message}");
            }
        }
    }

    /// <summary>Warns about host matches of a TLS listener's tenants that no certificate of the listener covers.</summary>
    private static void WarnUncoveredHosts(LbConfigFile file, ListenerIndex listeners, Dictionary<LbTenantSection, List<LbListenerSection>> served, ConfigErrorList errors)
    {
        foreach (var tenant in file.Tenants)
        {
            if (tenant.Match is null || !served.TryGetValue(tenant, out var on))
            {
                continue;
            }

            foreach (var listener in on)
            {
                if (listener.Tls?.Certificates is not { } certificates || listeners.Info(listener).KeyKind != TenantKeyKind.Host)
                {
                    continue;
                }

                for (var i = 0; i < tenant.Match.Count; i++)
                {
                    if (tenant.Match[i] is not { } match)
                    {
                        continue;
                    }

                    var host = HttpHostOnly(match.Value);
                    if (host.Length > 0 && !certificates.Exists(c => c.Loaded is { } loaded && TlsNames.Covers(loaded.Names, host)))
                    {
                        errors.AddWarning(match.Position, $"{TomlConfigLoader.Join(tenant.Path, "match")}[{i}]", $"no certificate of listener {Describe(listener)} covers \"{host}\"");
                    }
                }
            }
        }
    }

    private static string HttpHostOnly(string match)
    {
        var value = match.ToLowerInvariant();
        if (value.StartsWith('['))
        {
            return "";
        }

        var colon = value.IndexOf(':');
        return colon >= 0 ? value[..colon] : value;
    }
}
