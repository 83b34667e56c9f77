using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// Plays systemd's side of sd_notify: a Unix datagram socket whose path goes into a child's NOTIFY_SOCKET. Each
/// datagram is one message of newline-separated KEY=VALUE assignments (READY=1, RELOADING=1, MONOTONIC_USEC=...).
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket;
    private readonly string _directory;
    private readonly Channel<string> _messages = Channel.CreateUnbounded<string>();
    private readonly Task _receiveLoop;

    public NotifySocket()
    {
        // sun_path is limited to 108 bytes: keep it short, under /tmp.
        _directory = Directory.CreateTempSubdirectory("lbn-").FullName;
        Path = System.IO.Path.Combine(_directory, "notify");
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        _receiveLoop = ReceiveLoopAsync();
    }

    public string Path { get; }

    /// <summary>Every message received so far, in order (for failure messages).</summary>
    public List<string> Received { get; } = [];

    /// <summary>Returns the next message that satisfies <paramref name="match"/>, skipping others.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> match, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await _messages.Reader.ReadAsync(cancellationToken);
            if (match(message))
            {
                return message;
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None);
                var message = Encoding.UTF8.GetString(buffer, 0, read);
                lock (Received)
                {
                    Received.Add(message);
                }

                _messages.Writer.TryWrite(message);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            _messages.Writer.TryComplete();
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _receiveLoop.Wait(TimeSpan.FromSeconds(5));
        Directory.Delete(_directory, recursive: true);
    }
}
