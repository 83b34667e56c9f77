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
/// preallocated histogram per connection); new-connection mode allocates its socket per request, as it must.
/// </summary>
internal sealed class LoadGenerator
{
    private const int Warmup = 0;
    private const int Measure = 1;
    private const int Stop = 2;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly IPEndPoint _target;
    private readonly byte[][] _requests;
    private readonly bool _keepAlive;
    private readonly Worker[] _workers;
    private int _phase;

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

    public static byte[] BuildRequest(string host, bool keepAlive, string? extraHeader = null)
        => Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {host}\r\n{(extraHeader is null ? "" : extraHeader + "\r\n")}{(keepAlive ? "" : "Connection: close\r\n")}\r\n");

    /// <summary>Runs <paramref name="warmup"/> unmeasured, then <paramref name="duration"/> measured, then stops.</summary>
    /// <param name="targetCpuSeconds">Reads the target process's CPU seconds so far; null for an in-process target.</param>
    public async Task<LoadResult> RunAsync(TimeSpan warmup, TimeSpan duration, Func<double>? targetCpuSeconds, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _phase, Warmup);
        var tasks = new Task[_workers.Length];
        for (var i = 0; i < _workers.Length; i++)
        {
            tasks[i] = _workers[i].RunAsync();
        }

        try
        {
            await Task.Delay(warmup, cancellationToken).ConfigureAwait(false);

            using var self = Process.GetCurrentProcess();
            var gcBefore = GC.CollectionCount(0);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
            var cpuBefore = self.TotalProcessorTime;
            var targetCpuBefore = targetCpuSeconds?.Invoke() ?? 0;
            var machineBefore = MachineCpu.Read();
            var start = Stopwatch.GetTimestamp();
            Volatile.Write(ref _phase, Measure);
            await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _phase, Stop);
            var elapsed = Stopwatch.GetElapsedTime(start);
            self.Refresh();
            var cpu = self.TotalProcessorTime - cpuBefore;
            var targetCpu = (targetCpuSeconds?.Invoke() ?? 0) - targetCpuBefore;
            var machineBusy = MachineCpu.Read().BusySince(machineBefore);
            var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
            var gcs = GC.CollectionCount(0) - gcBefore;
            await StopWorkersAsync(tasks).ConfigureAwait(false);

            var histogram = new LatencyHistogram();
            long requests = 0, bytes = 0, errors = 0;
            foreach (var worker in _workers)
            {
                histogram.Add(worker.Histogram);
                requests += worker.Requests;
                bytes += worker.Bytes;
                errors += worker.Errors;
            }

            return new LoadResult(elapsed.TotalSeconds, requests, bytes, errors, histogram,
                GeneratorCpu: cpu.TotalSeconds / elapsed.TotalSeconds,
                TargetCpu: targetCpuSeconds is null ? null : targetCpu / elapsed.TotalSeconds,
                GeneratorAllocatedBytes: allocated,
                GeneratorGen0Collections: gcs,
                MachineBusy: machineBusy);
        }
        finally
        {
            Volatile.Write(ref _phase, Stop);
            await StopWorkersAsync(tasks).ConfigureAwait(false);
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

    /// <summary>One connection's closed loop and its own counters (merged after the run, so no sharing).</summary>
    private sealed class Worker(LoadGenerator owner, int index, int bufferBytes)
    {
        private readonly byte[] _buffer = new byte[bufferBytes];
        private Socket? _socket;

        public LatencyHistogram Histogram { get; } = new();

        public long Requests { get; private set; }

        public long Bytes { get; private set; }

        public long Errors { get; private set; }

        public void Abort() => _socket?.Dispose();

        public async Task RunAsync()
        {
            var requests = owner._requests;
            var next = index % requests.Length;
            var buffer = _buffer;
            while (Volatile.Read(ref owner._phase) != Stop)
            {
                var request = requests[next];
                next = next + 1 == requests.Length ? 0 : next + 1;
                var socket = _socket;
                try
                {
                    if (socket is null)
                    {
                        socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                        _socket = socket;
                        await socket.ConnectAsync(owner._target).ConfigureAwait(false);
                    }

                    var measured = Volatile.Read(ref owner._phase) == Measure;
                    var started = Stopwatch.GetTimestamp();
                    var pending = request.AsMemory();
                    while (!pending.IsEmpty)
                    {
                        var sent = await socket.SendAsync(pending, SocketFlags.None).ConfigureAwait(false);
                        pending = pending[sent..];
                    }

                    // Head: read until CRLFCRLF.
                    var (filled, headLength) = await ResponseHead.ReceiveHeadAsync(socket, buffer).ConfigureAwait(false);
                    var ok = ResponseHead.TryParse(buffer.AsSpan(0, headLength), out var status, out var contentLength, out var close);
                    if (!ok)
                    {
                        throw new SocketException((int)SocketError.ProtocolNotSupported);
                    }

                    // Body: Content-Length bytes; anything beyond would be an unsolicited response.
                    var remaining = contentLength - (filled - headLength);
                    while (remaining > 0)
                    {
                        var read = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
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
                    if (measured && Volatile.Read(ref owner._phase) == Measure)
                    {
                        if (status == 200)
                        {
                            Requests++;
                            Bytes += headLength + contentLength;
                            Histogram.Record((long)((finished - started) * NanosecondsPerTick));
                        }
                        else
                        {
                            Errors++;
                        }
                    }

                    if (!owner._keepAlive || close)
                    {
                        _socket = null;
                        socket.Dispose();
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    if (Volatile.Read(ref owner._phase) == Measure)
                    {
                        Errors++;
                    }

                    _socket = null;
                    socket?.Dispose();
                }
            }

            _socket?.Dispose();
            _socket = null;
        }
    }
}
