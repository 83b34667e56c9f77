using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using LoadBalancer.Host;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// The built <c>lb</c> as a child process (<c>dotnet lb.dll</c>, which sits next to the tests because the test project
/// references the host), for what only a real process shows: signals, sd_notify, exit codes. Listener ports are read
/// back from its log ("Listener web (http) listening on 127.0.0.1:PORT"), so configs can use port 0.
/// With LB_EXECUTABLE set (e.g. artifacts/publish/lb from <c>build.ps1 publish -Aot</c>) that binary runs instead.
/// </summary>
public sealed partial class LbProcess : IAsyncDisposable
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGTERM = 15;

    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly Dictionary<string, IPEndPoint> _listeners = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(string Text, TaskCompletionSource Seen)> _waiters = [];

    private IPEndPoint? _admin;

    private LbProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process wrote so far (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join("\n", _output);
            }
        }
    }

    /// <summary>Starts lb and waits for its "lb started" line (every listener is bound by then).</summary>
    public static async Task<LbProcess> StartAsync(string configPath, CancellationToken cancellationToken, string? notifySocket = null, params string[] arguments)
    {
        var info = StartInfo();
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(configPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (notifySocket is not null)
        {
            info.Environment["NOTIFY_SOCKET"] = notifySocket;
        }

        var lb = new LbProcess(new Process { StartInfo = info, EnableRaisingEvents = true });
        lb._process.OutputDataReceived += (_, e) => lb.OnLine(e.Data);
        lb._process.ErrorDataReceived += (_, e) => lb.OnLine(e.Data);
        lb._process.Exited += (_, _) => lb._started.TrySetException(new InvalidOperationException("lb exited during start:\n" + lb.Output));
        lb._process.Start();
        lb._process.BeginOutputReadLine();
        lb._process.BeginErrorReadLine();
        await lb._started.Task.WaitAsync(cancellationToken);
        return lb;
    }

    /// <summary>Runs lb with <paramref name="arguments"/> (e.g. <c>check --config PATH</c>) to its exit: the exit code and every line it wrote.</summary>
    public static Task<(int ExitCode, IReadOnlyList<string> Lines)> RunToExitAsync(CancellationToken cancellationToken, params string[] arguments)
        => RunToExitAsync(new Dictionary<string, string?>(), cancellationToken, arguments);

    /// <summary>As <see cref="RunToExitAsync(CancellationToken, string[])"/>, with these variables set (a null value removes one).</summary>
    public static async Task<(int ExitCode, IReadOnlyList<string> Lines)> RunToExitAsync(
        IReadOnlyDictionary<string, string?> environment, CancellationToken cancellationToken, params string[] arguments)
    {
        var info = StartInfo();
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = info };
        var lines = new List<string>();
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // Waits for the end of both redirected streams too.
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        lock (lines)
        {
            return (process.ExitCode, lines.ToList());
        }
    }

    /// <summary>The built lb (or LB_EXECUTABLE), output redirected, without the test runner's NOTIFY_SOCKET.</summary>
    /// <summary>
    /// lb.dll from the Host project's own output when it is there: the copy beside the tests runs with the test project's
    /// files, where the ASP.NET Core shared framework (the in-test HTTP/2 and gRPC backend) replaced some of lb's
    /// Microsoft.Extensions assemblies, which plain <c>dotnet lb.dll</c> then cannot load.
    /// </summary>
    private static string LbDll()
    {
        var beside = typeof(LbRunner).Assembly.Location;
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = tfm.Parent?.Name;
        var repo = tfm.Parent?.Parent?.Parent?.Parent?.FullName;
        var own = repo is null || configuration is null ? null : Path.Combine(repo, "LoadBalancer.Host", "bin", configuration, tfm.Name, "lb.dll");
        return own is not null && File.Exists(own) ? own : beside;
    }

    private static ProcessStartInfo StartInfo()
    {
        var executable = Environment.GetEnvironmentVariable("LB_EXECUTABLE");
        var info = new ProcessStartInfo(string.IsNullOrEmpty(executable) ? "dotnet" : Path.GetFullPath(executable))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (string.IsNullOrEmpty(executable))
        {
            info.ArgumentList.Add(LbDll());
        }

        info.Environment.Remove("NOTIFY_SOCKET");
        return info;
    }

    /// <summary>The <c>[admin]</c> endpoint, read back from its log line (so <c>listen = "127.0.0.1:0"</c> works).</summary>
    public IPEndPoint AdminEndPoint => _admin ?? throw new InvalidOperationException("no admin endpoint logged:\n" + Output);

    public IPEndPoint EndPoint(string listener = "web")
    {
        lock (_listeners)
        {
            return _listeners[listener];
        }
    }

    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Completes when lb has written a line containing <paramref name="text"/> (now or earlier).</summary>
    public Task WaitForOutputAsync(string text, CancellationToken cancellationToken)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.Any(line => line.Contains(text, StringComparison.Ordinal)))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((text, seen));
        }

        return seen.Task.WaitAsync(cancellationToken);
    }

    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
            foreach (var waiter in _waiters.Where(w => line.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Seen.TrySetResult();
            }
        }

        if (ListenerLine().Match(line) is { Success: true } match)
        {
            lock (_listeners)
            {
                _listeners[match.Groups[1].Value] = IPEndPoint.Parse(match.Groups[2].Value);
            }
        }
        else if (AdminLine().Match(line) is { Success: true } admin)
        {
            _admin = IPEndPoint.Parse(admin.Groups[1].Value);
        }
        else if (line.Contains("lb started (pid", StringComparison.Ordinal))
        {
            _started.TrySetResult();
        }
    }

    [GeneratedRegex(@"Listener (\w[\w.-]*) \(\w+\) listening on (\[[0-9a-fA-F:.]+\]:\d+|[0-9.]+:\d+)")]
    private static partial Regex ListenerLine();

    [GeneratedRegex(@"Admin endpoint listening on (\[[0-9a-fA-F:.]+\]:\d+|[0-9.]+:\d+)")]
    private static partial Regex AdminLine();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
