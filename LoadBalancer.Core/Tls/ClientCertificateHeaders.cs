using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// The header lines lb sends to backends about a client certificate it verified (<c>client_auth</c>):
/// <c>X-Client-Cert-Subject</c> (the subject distinguished name, RFC 4514 order as .NET prints it, e.g.
/// <c>CN=alice, O=Example</c>) and <c>X-Client-Cert-Sha256</c> (the SHA-256 of the certificate's DER, 64 lowercase hex
/// digits). Built once per connection, after the handshake. Client copies of both fields are dropped on every listener
/// (<see cref="Http.HeaderKind.XClientCertSubject"/>), so a backend can trust them whenever lb forwards them.
/// </summary>
internal static class ClientCertificateHeaders
{
    public const string SubjectName = "X-Client-Cert-Subject";
    public const string Sha256Name = "X-Client-Cert-Sha256";

    public static byte[] Lines(X509Certificate2 certificate)
    {
        var text = new StringBuilder(160);
        text.Append(SubjectName).Append(": ");
        AppendSafe(text, certificate.SubjectName.Name);
        text.Append("\r\n").Append(Sha256Name).Append(": ");
        text.Append(Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256)));
        text.Append("\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>
    /// Visible ASCII and spaces stay; any other character (controls, non-ASCII) becomes RFC 4514 hex pairs of its UTF-8
    /// bytes (<c>\C3\A9</c>), so a subject can neither break the head nor reach a backend in an encoding it guesses.
    /// </summary>
    private static void AppendSafe(StringBuilder text, string value)
    {
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in value.EnumerateRunes())
        {
            if (rune.Value is >= 0x20 and < 0x7F)
            {
                text.Append((char)rune.Value);
                continue;
            }

            var length = rune.EncodeToUtf8(utf8);
            for (var i = 0; i < length; i++)
            {
                text.Append('\\').Append(utf8[i].ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }
}
