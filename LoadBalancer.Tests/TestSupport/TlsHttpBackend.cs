using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// An HTTPS backend: TLS with the given certificate, then HTTP/1.1 keep-alive, answering each request with its name.
/// Records the SNI of every handshake and, when it asks for one, the client certificate's subject.
/// </summary>
public sealed class TlsHttpBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly X509Certificate2 _certificate;
    private readonly bool _requireClientCertificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Task> _serving = new();
    private readonly Task _loop;
    private int _handshakes;
    private int _requests;

    private TlsHttpBackend(string name, X509Certificate2 certificate, bool requireClientCertificate)
    {
        Name = name;
        _certificate = certificate;
        _requireClientCertificate = requireClientCertificate;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _loop = AcceptLoopAsync();
    }

    /// <param name="certificate">The leaf with its key (see <see cref="TestCertificates.LoadWithKey"/>).</param>
    public static TlsHttpBackend Start(string name, X509Certificate2 certificate, bool requireClientCertificate = false) => new(name, certificate, requireClientCertificate);

    public string Name { get; }

    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";

    public int Handshakes => Volatile.Read(ref _handshakes);

    public int Requests => Volatile.Read(ref _requests);

    public ConcurrentQueue<string> ServerNames { get; } = new();

    public ConcurrentQueue<string> ClientSubjects { get; } = new();

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                _serving.Enqueue(ServeAsync(socket));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ClientCertificateRequired = _requireClientCertificate,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => !_requireClientCertificate || certificate is not null,
            }, _stop.Token);
            Interlocked.Increment(ref _handshakes);
            ServerNames.Enqueue(tls.TargetHostName);
            if (tls.RemoteCertificate is { } client)
            {
                ClientSubjects.Enqueue(client.Subject);
            }

            var buffer = new byte[16 * 1024];
            var length = 0;
            while (true)
            {
                var headEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
                if (headEnd < 0)
                {
                    var read = await tls.ReadAsync(buffer.AsMemory(length), _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                    continue;
                }

                var consumed = headEnd + 4;
                Buffer.BlockCopy(buffer, consumed, buffer, 0, length - consumed);
                length -= consumed;
                Interlocked.Increment(ref _requests);
                var body = $"{Name}\n";
                await tls.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}"), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _loop;
        await Task.WhenAll(_serving);
        _stop.Dispose();
    }
}
