using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A real <c>redis-server</c> (Debian's package; .ci/run installs it) on a free loopback port, started by PID with no
/// persistence (<c>--save "" --appendonly no</c>), killed on dispose. <see cref="KillAsync"/> and
/// <see cref="RestartAsync"/> take it away and bring it back on the same port, empty, as a crash and restart would.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private Process? _process;

    private RedisServer(int port)
    {
        Port = port;
        _directory = Directory.CreateTempSubdirectory("lb-redis-").FullName;
    }

    public int Port { get; }

    /// <summary>For <c>[cluster] redis</c>.</summary>
    public string Address => $"127.0.0.1:{Port}";

    public int? Pid => _process?.Id;

    /// <summary>The binary, or null (the caller ignores the test, except under CI where .ci/run installs it).</summary>
    public static string? Find()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            var candidate = Path.Combine(directory, "redis-server");
            if (directory.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Starts redis-server on a free port, or ignores the test when it is not installed (fails under CI).</summary>
    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken)
    {
        if (Find() is null)
        {
            if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
            {
                Assert.Fail("redis-server is not installed; .ci/run installs it (apt-get install redis-server)");
            }

            Assert.Ignore("redis-server (apt package redis-server) is not installed; .ci/run installs it.");
        }

        var server = new RedisServer(FreePort());
        await server.RestartAsync(cancellationToken);
        return server;
    }

    /// <summary>Starts it again on the same port (empty: nothing persists), and waits until it answers PING.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(Find()!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var argument in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no", "--dir", _directory })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Ready once it answers; the loop is bounded by the caller's token.
        while (!await PingAsync(cancellationToken))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode} on port {Port}");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>SIGKILL, as a crash: no goodbye to the clients. Returns once the process is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Sends one inline command and returns the first reply line (e.g. "+PONG", ":3").</summary>
    public async Task<string> CommandAsync(string command, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(command + "\r\n"), cancellationToken);
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        return await reader.ReadLineAsync(cancellationToken) ?? "";
    }

    /// <summary>A command whose reply is one bulk string (INFO): its text.</summary>
    public async Task<string> BulkAsync(string command, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(command + "\r\n"), cancellationToken);
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        var header = await reader.ReadLineAsync(cancellationToken) ?? "";
        if (!header.StartsWith('$'))
        {
            return header;
        }

        var buffer = new char[int.Parse(header.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture)];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await reader.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return new string(buffer, 0, read);
    }

    private async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await CommandAsync("PING", cancellationToken) == "+PONG";
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
