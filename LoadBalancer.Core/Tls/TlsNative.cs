using System.Runtime.InteropServices;

namespace LoadBalancer.Core.Tls;

/// <summary>The one OpenSSL call lb makes itself: the same libssl that .NET's own TLS loaded.</summary>
internal static partial class TlsNative
{
    [LibraryImport("libssl.so.3")]
    internal static partial int SSL_session_reused(IntPtr ssl);
}
