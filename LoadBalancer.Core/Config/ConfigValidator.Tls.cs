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

        if (tls.MinVersion is { } minVersion && minVersion.Value is not ("1.2" or "1.3"))
        {
            errors.Add(minVersion.Position, TomlConfigLoader.Join(tls.Path, "min_version"), $"must be \"1.2\" or \"1.3\", not \"{minVersion.Value}\"");
        }

        CheckDuration(tls.HandshakeTimeout, tls.Path, "handshake_timeout", errors);
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

            if (LoadCertificate(cert, TomlConfigLoader.Join(entry.Path, "cert"), key, TomlConfigLoader.Join(entry.Path, "key"), baseDirectory, now, errors) is not { } loaded)
            {
                continue;
            }

            entry.Loaded = loaded;
            if (loaded.NotAfter - now < ExpiryWarning)
            {
                var days = (int)Math.Floor((loaded.NotAfter - now).TotalDays);
                errors.AddWarning(cert.Position, TomlConfigLoader.Join(entry.Path, "cert"), $"\"{cert.Value}\" expires on {loaded.NotAfter.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC (in {days} day{(days == 1 ? "" : "s")})");
            }
        }

        if (tls.ClientAuthCa is { } ca && TryLoadAuthorities(ca, TomlConfigLoader.Join(tls.Path, "client_auth.ca"), baseDirectory, errors) is var (authorities, hash, file) && authorities is not null)
        {
            tls.LoadedClientCa = authorities;
            tls.ClientCaHash = hash;
            tls.ClientCaFile = file;
        }
    }

    /// <summary>A certificate and its key; a problem is reported at the cert or the key entry, whichever file it is in.</summary>
    private static TlsCertificate? LoadCertificate(
        ConfigValue<string> cert, string certPath, ConfigValue<string> key, string keyPath, string baseDirectory, DateTime now, ConfigErrorList errors)
    {
        if (TlsCertificateLoader.TryLoad(Path.Combine(baseDirectory, cert.Value), Path.Combine(baseDirectory, key.Value), now, out var loaded, out var error, out var aboutKey))
        {
            return loaded;
        }

        var (position, path, file) = aboutKey ? (key.Position, keyPath, key.Value) : (cert.Position, certPath, cert.Value);
        errors.Add(position, path, $"\"{file}\": {error}");
        return null;
    }

    /// <summary>A PEM file of CA certificates (client_auth.ca, a pool's tls.ca); every problem reported at <paramref name="value"/>.</summary>
    private static (X509Certificate2Collection? Authorities, byte[]? Hash, string? File) TryLoadAuthorities(ConfigValue<string> value, string path, string baseDirectory, ConfigErrorList errors)
    {
        try
        {
            var file = Path.Combine(baseDirectory, value.Value);
            var bytes = File.ReadAllBytes(file);
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPem(System.Text.Encoding.ASCII.GetString(bytes));
            if (authorities.Count == 0)
            {
                errors.Add(value.Position, path, $"\"{value.Value}\": no certificate in file (expected -----BEGIN CERTIFICATE-----)");
                return default;
            }

            return (authorities, SHA256.HashData(bytes), file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or CryptographicException)
        {
            errors.Add(value.Position, path, $"\"{value.Value}\": cannot read: {e.Message}");
            return default;
        }
    }

    /// <summary>A pool's <c>tls</c>: the SNI is a host name, <c>ca</c> loads, and a client certificate comes with its key.</summary>
    private static void ValidatePoolTls(LbPoolSection pool, ConfigErrorList errors)
    {
        if (pool.Tls is not { } tls)
        {
            return;
        }

        if (tls.Sni is { } sni && (sni.Value.Length == 0 || Uri.CheckHostName(sni.Value) != UriHostNameType.Dns))
        {
            errors.Add(sni.Position, TomlConfigLoader.Join(tls.Path, "sni"), $"must be a DNS name, not \"{sni.Value}\"");
        }

        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(errors.File)) ?? ".";
        if (tls.Ca is { } ca && TryLoadAuthorities(ca, TomlConfigLoader.Join(tls.Path, "ca"), baseDirectory, errors) is var (authorities, hash, file) && authorities is not null)
        {
            tls.LoadedCa = authorities;
            tls.CaHash = hash;
            tls.CaFile = file;
        }

        if ((tls.ClientCert is null) != (tls.ClientKey is null))
        {
            var present = tls.ClientCert ?? tls.ClientKey!;
            errors.Add(present.Position, TomlConfigLoader.Join(tls.Path, tls.ClientCert is null ? "client_key" : "client_cert"), "client_cert and client_key go together");
        }
        else if (tls.ClientCert is { } cert && tls.ClientKey is { } key)
        {
            tls.LoadedClientCertificate = LoadCertificate(cert, TomlConfigLoader.Join(tls.Path, "client_cert"), key, TomlConfigLoader.Join(tls.Path, "client_key"), baseDirectory, DateTime.UtcNow, errors);
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
