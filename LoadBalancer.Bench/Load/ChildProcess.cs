using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// A proxy under test running as its own process (lb, haproxy, nginx), optionally pinned with <c>taskset -c CPU</c>.
/// Its output goes to a log file in the run's temp directory. CPU time and RSS are read from <c>/proc</c> for the
/// process that does the work (for nginx the single worker, not the master).
/// </summary>
internal sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    public const int SigHup = 1;

    private readonly Process _process;

    private ChildProcess(string name, Process process, string logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        WorkerPid = process.Id;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    /// <summary>The process whose CPU and memory are reported; set with <see cref="UseWorkerChild"/> for nginx.</summary>
    public int WorkerPid { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <param name="environment">Variables to set for the child; an empty value removes an inherited one.</param>
    /// <param name="cpu">taskset's CPU list (e.g. "1" or "0-1"), or null: not pinned.</param>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, string? cpu,
        IReadOnlyDictionary<string, string> environment, string logPath)
    {
        // sh execs the program (through taskset when pinning), so the pid we hold is the program's own.
        var command = new StringBuilder("exec ");
        if (cpu is not null)
        {
            command.Append("taskset -c ").Append(cpu).Append(' ');
        }

        command.Append(Quote(fileName));
        foreach (var argument in arguments)
        {
            command.Append(' ').Append(Quote(argument));
        }

        command.Append(" >").Append(Quote(logPath)).Append(" 2>&1");
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command.ToString());
        foreach (var (key, value) in environment)
        {
            if (value.Length == 0)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {fileName}");
        return new ChildProcess(name, process, logPath);
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Waits until an HTTP request through the proxy gets a 200, or fails with the tail of its log.</summary>
    public async Task WaitReadyAsync(IPEndPoint endPoint, string host, TimeSpan timeout, string? extraHeader = null, bool tls = false)
    {
        var request = LoadGenerator.BuildRequest(host, keepAlive: false, extraHeader);
        var buffer = new byte[64 * 1024];
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        string last = "no answer";
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}:\n{LogTail()}");
            }

            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.ConnectAsync(endPoint, cts.Token).ConfigureAwait(false);
                await using Stream stream = !tls
                    ? new NetworkStream(socket, ownsSocket: false)
                    : new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: false), false, static (_, _, _, _) => true);
                if (stream is System.Net.Security.SslStream secure)
                {
                    await secure.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = host }, cts.Token).ConfigureAwait(false);
                }

                await stream.WriteAsync(request, cts.Token).ConfigureAwait(false);
                var filled = 0;
                int read;
                while ((read = await stream.ReadAsync(buffer.AsMemory(filled), cts.Token).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                    if (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) >= 0)
                    {
                        break;
                    }
                }

                var text = Encoding.ASCII.GetString(buffer, 0, Math.Min(filled, 200));
                if (text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
                {
                    return;
                }

                last = text.Split('\n')[0].Trim();
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException or System.Security.Authentication.AuthenticationException)
            {
                last = ex.Message;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        throw new TimeoutException($"{Name} did not answer 200 on {endPoint} within {timeout.TotalSeconds:0} s (last: {last}):\n{LogTail()}");
    }

    /// <summary>
    /// nginx: report the worker, which does all the proxying. Waits until the master has exactly one child, so after a
    /// reload (SIGHUP) it is the new worker rather than the old one that is shutting down.
    /// </summary>
    public void UseWorkerChild(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string[] children = [];
        while (true)
        {
            var path = $"/proc/{Pid}/task/{Pid}/children";
            children = File.Exists(path) ? File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
            if (children.Length == 1 || (children.Length > 1 && DateTime.UtcNow >= deadline))
            {
                WorkerPid = int.Parse(children[^1], System.Globalization.CultureInfo.InvariantCulture);
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return;
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>User plus system CPU seconds of the worker process so far (0 once it is gone).</summary>
    public double CpuSeconds()
    {
        try
        {
            // Fields after the parenthesised command name: state is field 3, utime 14, stime 15 (clock ticks).
            var stat = File.ReadAllText($"/proc/{WorkerPid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture)
                + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            return ticks / (double)ClockTicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Resident set size of the worker process in KiB (VmRSS).</summary>
    public long RssKib()
    {
        foreach (var line in File.ReadLines($"/proc/{WorkerPid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>The hard limit on open files (RLIMIT_NOFILE) the children inherit, from /proc/self/limits.</summary>
    public static int OpenFilesLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return int.TryParse(fields[1], System.Globalization.CultureInfo.InvariantCulture, out var hard) ? hard : 1024 * 1024;
            }
        }

        return 1024;
    }

    public string LogTail(int lines = 20)
    {
        try
        {
            var all = File.ReadAllLines(LogPath);
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    private static readonly long ClockTicksPerSecond = SysConf(2 /* _SC_CLK_TCK */) is var hz and > 0 ? hz : 100;

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends <paramref name="signal"/> to the started process (e.g. <see cref="SigHup"/>: nginx reloads its config).</summary>
    public void Signal(int signal) => _ = Kill(_process.Id, signal);

    /// <summary>SIGTERM (nginx and lb shut down cleanly and take their children with them), then SIGKILL after 5 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigTerm);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }

        _process.Dispose();
    }
}
