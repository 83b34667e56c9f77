using System.Runtime.InteropServices;

namespace LoadBalancer.Core.Tls;

/// <summary>The one OpenSSL call lb makes itself: the same libssl that .NET's own TLS loaded.</summary>
internal static partial class TlsNative
{
    [LibraryImport("libssl.so.3")]
    internal static partial int SSL_session_reused(IntPtr ssl);

    /// <summary>SSL_set_mode is this call with SSL_CTRL_MODE.</summary>
    [LibraryImport("libssl.so.3")]
    internal static partial nint SSL_ctrl(IntPtr ssl, int command, nint larg, IntPtr parg);

    internal const int SslCtrlMode = 33;

    /// <summary>SSL_MODE_RELEASE_BUFFERS: OpenSSL frees a connection's record buffers (about 17 KiB read, more while writing) whenever they are empty, as HAProxy sets it.</summary>
    internal const nint SslModeReleaseBuffers = 0x10;
}
