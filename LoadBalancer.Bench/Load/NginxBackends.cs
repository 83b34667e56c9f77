using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Real backends for the throughput grid: one nginx process per backend (1 worker, keep-alive without a request cap),
/// each under its own temp prefix and started by PID. Body 0 is answered with <c>return 200 "hello\n"</c>, the
/// outside check's backend; a larger body is a static file of that many bytes. A body change rewrites the configs and
/// reloads nginx (SIGHUP), then waits until a fresh connection sees the new Content-Length, so the scenario's warm-up
/// starts on the new body. With --pin they run on CPU 0 with the generator (the bench's own affinity is inherited).
/// </summary>
internal sealed class NginxBackends : IAsyncDisposable
{
    /// <summary>What nginx answers for body 0: the outside check's <c>return 200 "hello\n"</c>.</summary>
    public const string HelloBody = "hello\n";

    private readonly List<(ChildProcess Process, string Directory, int Port)> _servers;
    private int _bodyBytes;

    private NginxBackends(List<(ChildProcess Process, string Directory, int Port)> servers)
    {
        _servers = servers;
    }

    public IReadOnlyList<IPEndPoint> EndPoints => _servers.Select(s => new IPEndPoint(IPAddress.Loopback, s.Port)).ToList();

    /// <summary>CPU seconds of the backends' workers so far (for "other cores": they are neither proxy nor bench).</summary>
    public double CpuSeconds()
    {
        var total = 0.0;
        foreach (var (process, _, _) in _servers)
        {
            total += process.CpuSeconds();
        }

        return total;
    }

    public static async Task<NginxBackends> StartAsync(string nginx, int count, string directory, int bodyBytes)
    {
        // nginx started as root serves files as an unprivileged worker user: the run's temp directory (0700) must let it
        // through to the body files.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, File.GetUnixFileMode(directory) | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        var servers = new List<(ChildProcess Process, string Directory, int Port)>();
        var backends = new NginxBackends(servers) { _bodyBytes = bodyBytes };
        try
        {
            for (var i = 0; i < count; i++)
            {
                var prefix = Path.Combine(directory, $"backend{i}");
                Directory.CreateDirectory(prefix);
                var port = LoadRunner.FreePort();
                var config = await WriteConfigAsync(prefix, port, bodyBytes).ConfigureAwait(false);
                var process = ChildProcess.Start($"nginx backend {i}", nginx,
                    ["-p", prefix, "-e", Path.Combine(prefix, "error.log"), "-c", config], null, new Dictionary<string, string>(), Path.Combine(prefix, "stdout.log"));
                servers.Add((process, prefix, port));
                await process.WaitReadyAsync(new IPEndPoint(IPAddress.Loopback, port), "backend", TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                process.UseWorkerChild(TimeSpan.FromSeconds(5));
            }
        }
        catch
        {
            await backends.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return backends;
    }

    /// <summary>Rewrites every config for <paramref name="bodyBytes"/>, reloads, and waits until each serves it.</summary>
    public async Task SetBodyBytesAsync(int bodyBytes)
    {
        if (bodyBytes == _bodyBytes)
        {
            return;
        }

        _bodyBytes = bodyBytes;
        foreach (var (process, prefix, port) in _servers)
        {
            await WriteConfigAsync(prefix, port, bodyBytes).ConfigureAwait(false);
            process.Signal(ChildProcess.SigHup);
        }

        var expected = bodyBytes == 0 ? HelloBody.Length : bodyBytes;
        foreach (var (process, _, port) in _servers)
        {
            await WaitForBodyAsync(process, new IPEndPoint(IPAddress.Loopback, port), expected).ConfigureAwait(false);
            process.UseWorkerChild(TimeSpan.FromSeconds(5));
        }
    }

    private static async Task WaitForBodyAsync(ChildProcess process, IPEndPoint endPoint, long contentLength)
    {
        var request = LoadGenerator.BuildRequest("backend", keepAlive: false);
        var buffer = new byte[16 * 1024];
        var deadline = Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.ConnectAsync(endPoint, cts.Token).ConfigureAwait(false);
                await socket.SendAsync(request, SocketFlags.None, cts.Token).ConfigureAwait(false);
                var (_, headLength) = await ResponseHead.ReceiveHeadAsync(socket, buffer).ConfigureAwait(false);
                if (ResponseHead.TryParse(buffer.AsSpan(0, headLength), out var status, out var length, out _) && status == 200 && length == contentLength)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                // The reload is still under way.
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        throw new TimeoutException($"{process.Name} did not serve a {contentLength}-byte body within 10 s after its reload:\n{process.LogTail()}");
    }

    private static async Task<string> WriteConfigAsync(string prefix, int port, int bodyBytes)
    {
        string location;
        if (bodyBytes == 0)
        {
            location = $"return 200 \"{HelloBody.Replace("\n", "\\n", StringComparison.Ordinal)}\";";
        }
        else
        {
            var file = Path.Combine(prefix, $"body-{bodyBytes}");
            if (!File.Exists(file))
            {
                await File.WriteAllBytesAsync(file, Enumerable.Repeat((byte)'x', bodyBytes).ToArray()).ConfigureAwait(false);
            }

            location = $"root {prefix}; rewrite ^ /body-{bodyBytes} break;";
        }

        var config = Path.Combine(prefix, "nginx.conf");
        var text = new StringBuilder();
        text.AppendLine($$"""
            # generated by LoadBalancer.Bench load: one bench backend
            worker_processes 1;
            daemon off;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            worker_rlimit_nofile 65536;
            events { worker_connections 16384; }
            http {
                access_log off;
                client_body_temp_path {{prefix}}/body;
                proxy_temp_path {{prefix}}/proxy;
                fastcgi_temp_path {{prefix}}/fastcgi;
                uwsgi_temp_path {{prefix}}/uwsgi;
                scgi_temp_path {{prefix}}/scgi;
                keepalive_timeout 60s;
                keepalive_requests 100000000;
                sendfile on;
                default_type text/plain;
                server {
                    listen 127.0.0.1:{{port}} backlog=8192;
                    location / { {{location}} }
                }
            }
            """);
        await File.WriteAllTextAsync(config, text.ToString()).ConfigureAwait(false);
        return config;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (process, _, _) in _servers)
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }
    }
}
