using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Closed-loop HTTP/1.1 load: N connections, each sends one precomputed request, reads the whole response (head,
/// then Content-Length body bytes), records the latency, and repeats. Keep-alive reuses the connection; new-connection
/// mode connects, sends <c>Connection: close</c>, and closes after every response. The per-request path allocates
/// nothing in keep-alive mode (one async loop per connection, awaiting the sockets' cached ValueTask sources, and a
/// preallocated histogram per connection and window); new-connection mode allocates its socket per request, as it must.
/// Several measured windows can follow one warm-up back to back on the same connections.
/// </summary>
internal sealed class LoadGenerator
{
    // _window: the warm-up, then the index of the measured window, then (past the last window) stop.
    private const int Warmup = -1;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly IPEndPoint _target;
    private readonly byte[][] _requests;
    private readonly bool _keepAlive;
    private readonly Worker[] _workers;
    private int _window;
    private int _windowCount;

    /// <param name="hosts">The Host header values; successive requests on a connection walk through them.</param>
    /// <param name="extraHeader">One more header line without CRLF (e.g. the access key), or null.</param>
    public LoadGenerator(IPEndPoint target, IReadOnlyList<string> hosts, int connections, bool keepAlive, int bodyBytes, string? extraHeader = null)
    {
        _target = target;
        _keepAlive = keepAlive;
        _requests = new byte[hosts.Count][];
        for (var i = 0; i < hosts.Count; i++)
        {
            _requests[i] = BuildRequest(hosts[i], keepAlive, extraHeader);
        }

        // Room for a whole response in one buffer when it fits, so small responses are one receive.
        var bufferBytes = Math.Clamp(bodyBytes + 1024, 8 * 1024, 128 * 1024);
        _workers = new Worker[connections];
        for (var i = 0; i < connections; i++)
        {
            _workers[i] = new Worker(this, i, bufferBytes);
        }
    }

    /// <summary>Speak TLS to the target (--tls), with these options (SNI, no verification of the run's self-signed certificate).</summary>
    public System.Net.Security.SslClientAuthenticationOptions? Tls { get; init; }

    /// <summary>Reads the CPU seconds of backends that are their own processes (nginx), for <see cref="LoadResult.BackendCpu"/>.</summary>
    public Func<double>? BackendCpuSeconds { get; init; }

    public static byte[] BuildRequest(string host, bool keepAlive, string? extraHeader = null)
        => Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {host}\r\n{(extraHeader is null ? "" : extraHeader + "\r\n")}{(keepAlive ? "" : "Connection: close\r\n")}\r\n");

    /// <summary>Runs <paramref name="warmup"/> unmeasured, then <paramref name="duration"/> measured, then stops.</summary>
    /// <param name="targetCpuSeconds">Reads the target process's CPU seconds so far; null for an in-process target.</param>
    public async Task<LoadResult> RunAsync(TimeSpan warmup, TimeSpan duration, Func<double>? targetCpuSeconds, CancellationToken cancellationToken)
        => (await RunWindowsAsync(warmup, [duration], targetCpuSeconds, null, cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// Runs <paramref name="warmup"/> unmeasured, then each of <paramref name="windows"/> measured back to back on the
    /// same connections (so a window can be compared with the one before it under identical load), then stops.
    /// </summary>
    /// <param name="duringWindow">
    /// Started at the beginning of each window with its index and a token cancelled when the window ends (e.g. the
    /// reloads of <c>--reload</c>); awaited before the next window's figures are taken, so it must return once cancelled.
    /// </param>
    public async Task<LoadResult[]> RunWindowsAsync(TimeSpan warmup, IReadOnlyList<TimeSpan> windows, Func<double>? targetCpuSeconds,
        Func<int, CancellationToken, Task>? duringWindow, CancellationToken cancellationToken)
    {
        _windowCount = windows.Count;
        Volatile.Write(ref _window, Warmup);
        var tasks = new Task[_workers.Length];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i].Prepare(windows.Count);
            tasks[i] = _workers[i].RunAsync();
        }

        try
        {
            await Task.Delay(warmup, cancellationToken).ConfigureAwait(false);

            using var self = Process.GetCurrentProcess();
            var boundaries = new Boundary[windows.Count + 1];
            boundaries[0] = Boundary.Take(self, targetCpuSeconds, BackendCpuSeconds);
            for (var w = 0; w < windows.Count; w++)
            {
                Volatile.Write(ref _window, w);
                using var windowEnd = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var side = duringWindow is null ? Task.CompletedTask : duringWindow(w, windowEnd.Token);

                // Timed from the boundary, so the previous window's side task finishing late does not stretch this one.
                var left = windows[w] - Stopwatch.GetElapsedTime(boundaries[w].Timestamp);
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(left, cancellationToken).ConfigureAwait(false);
                }

                boundaries[w + 1] = Boundary.Take(self, targetCpuSeconds, BackendCpuSeconds);
                Volatile.Write(ref _window, w + 1);
                await windowEnd.CancelAsync().ConfigureAwait(false);
                await side.ConfigureAwait(false);
            }

            // A request that finished just after its window closed may still be adding to that window: merge after the stop.
            await StopWorkersAsync(tasks).ConfigureAwait(false);
            var results = new LoadResult[windows.Count];
            for (var w = 0; w < windows.Count; w++)
            {
                results[w] = Collect(w, boundaries[w], boundaries[w + 1], targetCpuSeconds is not null);
            }

            return results;
        }
        finally
        {
            Volatile.Write(ref _window, _windowCount);
            await StopWorkersAsync(tasks).ConfigureAwait(false);
        }
    }

    private LoadResult Collect(int window, Boundary start, Boundary end, bool hasTarget)
    {
        var seconds = (end.Timestamp - start.Timestamp) / (double)Stopwatch.Frequency;
        var histogram = new LatencyHistogram();
        long requests = 0, bytes = 0, errors = 0, notOk = 0, connects = 0;
        foreach (var worker in _workers)
        {
            var stats = worker.Windows[window];
            histogram.Add(stats.Histogram);
            requests += stats.Requests;
            bytes += stats.Bytes;
            errors += stats.Errors;
            notOk += stats.NotOk;
            connects += stats.Connects;
        }

        return new LoadResult(seconds, requests, bytes, errors + notOk, histogram,
            GeneratorCpu: (end.CpuSeconds - start.CpuSeconds) / seconds,
            TargetCpu: hasTarget ? (end.TargetCpuSeconds - start.TargetCpuSeconds) / seconds : null,
            GeneratorAllocatedBytes: end.AllocatedBytes - start.AllocatedBytes,
            GeneratorGen0Collections: end.Gen0Collections - start.Gen0Collections,
            MachineBusy: end.Machine.BusySince(start.Machine))
        {
            NotOkResponses = notOk,
            Connects = connects,
            BackendCpu = (end.BackendCpuSeconds - start.BackendCpuSeconds) / seconds,
        };
    }

    /// <summary>What is read at the edge of a measured window; one reading ends a window and starts the next.</summary>
    private readonly record struct Boundary(long Timestamp, double CpuSeconds, double TargetCpuSeconds, double BackendCpuSeconds, long AllocatedBytes, int Gen0Collections, MachineCpu Machine)
    {
        public static Boundary Take(Process self, Func<double>? targetCpuSeconds, Func<double>? backendCpuSeconds)
        {
            self.Refresh();
            return new Boundary(
                Stopwatch.GetTimestamp(),
                self.TotalProcessorTime.TotalSeconds,
                targetCpuSeconds?.Invoke() ?? 0,
                backendCpuSeconds?.Invoke() ?? 0,
                GC.GetTotalAllocatedBytes(precise: false),
                GC.CollectionCount(0),
                MachineCpu.Read());
        }
    }

    /// <summary>Every worker ends after its current request; one stuck on a silent peer is unblocked by closing its socket.</summary>
    private async Task StopWorkersAsync(Task[] tasks)
    {
        var all = Task.WhenAll(tasks);
        if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(3))).ConfigureAwait(false) != all)
        {
            foreach (var worker in _workers)
            {
                worker.Abort();
            }
        }

        await all.ConfigureAwait(false);
    }

    /// <summary>One window's counts of one connection (merged after the run, so no sharing).</summary>
    private sealed class WindowStats
    {
        public LatencyHistogram Histogram { get; } = new();

        public long Requests { get; set; }

        public long Bytes { get; set; }

        /// <summary>Connections that failed, were reset, or broke the protocol.</summary>
        public long Errors { get; set; }

        /// <summary>Complete responses whose status was not 200.</summary>
        public long NotOk { get; set; }

        /// <summary>Connections opened; with keep-alive, each one replaces a connection the target closed.</summary>
        public long Connects { get; set; }
    }

    /// <summary>One connection's closed loop and its own counters per measured window.</summary>
    private sealed class Worker(LoadGenerator owner, int index, int bufferBytes)
    {
        private readonly byte[] _buffer = new byte[bufferBytes];
        private Socket? _socket;
        private System.Net.Security.SslStream? _tls;

        public WindowStats[] Windows { get; private set; } = [];

        public void Prepare(int windows)
        {
            Windows = new WindowStats[windows];
            for (var i = 0; i < windows; i++)
            {
                Windows[i] = new WindowStats();
            }
        }

        public void Abort() => _socket?.Dispose();

        private void Close()
        {
            _tls?.Dispose();
            _tls = null;
            _socket?.Dispose();
            _socket = null;
        }

        public async Task RunAsync()
        {
            var requests = owner._requests;
            var windows = Windows;
            var next = index % requests.Length;
            var buffer = _buffer;
            while (true)
            {
                // The window this request belongs to; it counts only if the window is still open when it completes.
                var window = Volatile.Read(ref owner._window);
                if (window >= windows.Length)
                {
                    break;
                }

                var request = requests[next];
                next = next + 1 == requests.Length ? 0 : next + 1;
                var socket = _socket;
                try
                {
                    if (socket is null)
                    {
                        socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                        _socket = socket;
                        if (window >= 0)
                        {
                            windows[window].Connects++;
                        }

                        await socket.ConnectAsync(owner._target).ConfigureAwait(false);
                        if (owner.Tls is { } options)
                        {
                            _tls = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: false));
                            await _tls.AuthenticateAsClientAsync(options).ConfigureAwait(false);
                        }
                    }

                    var started = Stopwatch.GetTimestamp();
                    var tls = _tls;
                    if (tls is not null)
                    {
                        await tls.WriteAsync(request).ConfigureAwait(false);
                    }
                    else
                    {
                        var pending = request.AsMemory();
                        while (!pending.IsEmpty)
                        {
                            var sent = await socket.SendAsync(pending, SocketFlags.None).ConfigureAwait(false);
                            pending = pending[sent..];
                        }
                    }

                    // Head: read until CRLFCRLF.
                    var (filled, headLength) = tls is null
                        ? await ResponseHead.ReceiveHeadAsync(socket, buffer).ConfigureAwait(false)
                        : await ResponseHead.ReceiveHeadAsync(tls, buffer).ConfigureAwait(false);
                    var ok = ResponseHead.TryParse(buffer.AsSpan(0, headLength), out var status, out var contentLength, out var close);
                    if (!ok)
                    {
                        throw new SocketException((int)SocketError.ProtocolNotSupported);
                    }

                    // Body: Content-Length bytes; anything beyond would be an unsolicited response.
                    var remaining = contentLength - (filled - headLength);
                    while (remaining > 0)
                    {
                        var read = tls is null
                            ? await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false)
                            : await tls.ReadAsync(buffer.AsMemory()).ConfigureAwait(false);
                        if (read == 0)
                        {
                            throw new SocketException((int)SocketError.ConnectionReset);
                        }

                        remaining -= read;
                    }

                    if (remaining < 0)
                    {
                        throw new SocketException((int)SocketError.ProtocolNotSupported);
                    }

                    var finished = Stopwatch.GetTimestamp();
                    if (window >= 0 && Volatile.Read(ref owner._window) == window)
                    {
                        var stats = windows[window];
                        if (status == 200)
                        {
                            stats.Requests++;
                            stats.Bytes += headLength + contentLength;
                            stats.Histogram.Record((long)((finished - started) * NanosecondsPerTick));
                        }
                        else
                        {
                            stats.NotOk++;
                        }
                    }

                    if (!owner._keepAlive || close)
                    {
                        Close();
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or System.Security.Authentication.AuthenticationException)
                {
                    var now = Volatile.Read(ref owner._window);
                    if (now >= 0 && now < windows.Length)
                    {
                        windows[now].Errors++;
                    }

                    Close();
                }
            }

            Close();
        }
    }
}
