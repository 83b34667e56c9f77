using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Open-loop HTTP/1.1 load at a fixed rate: one scheduler sends a request every 1/rate seconds, whatever the earlier
/// ones are doing, like a tenant with many independent clients. Each request goes out on an idle keep-alive
/// connection of the generator's pool, or on a new one when all are busy (the pool starts with
/// <c>initialConnections</c> and grows as needed, up to <see cref="MaxConnections"/>; a slot that finds the cap
/// reached is not sent and counts as <see cref="Phase.Unsent"/>). With <c>newConnectionShare</c> every n-th request
/// goes on a fresh connection with <c>Connection: close</c> instead. Latency runs from the request's scheduled time to
/// its last response byte, so a late send counts (no coordinated omission). Each request counts in the
/// <see cref="Phase"/> whose window holds its scheduled time; outside the windows nothing is counted.
/// </summary>
internal sealed class OpenLoopGenerator
{
    public const int MaxConnections = 4096;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly IPEndPoint _target;
    private readonly byte[] _keepAliveRequest;
    private readonly byte[] _closeRequest;
    private readonly long _intervalTicks;
    private readonly int _newConnectionEvery;
    private readonly Stack<Connection> _idle = new();
    private readonly HashSet<Task> _inFlight = [];
    private readonly HashSet<Connection> _busy = [];
    private readonly int _initialConnections;
    private Task _scheduler = Task.CompletedTask;
    private volatile bool _stop;
    private Phase[] _phases = [];
    private int _open;

    /// <param name="newConnectionEvery">0: keep-alive only; n: every n-th request on a new connection (2: half).</param>
    public OpenLoopGenerator(IPEndPoint target, string host, double requestsPerSecond, int initialConnections, int newConnectionEvery)
    {
        _target = target;
        _keepAliveRequest = LoadGenerator.BuildRequest(host, keepAlive: true);
        _closeRequest = LoadGenerator.BuildRequest(host, keepAlive: false);
        _intervalTicks = Math.Max(1, (long)(Stopwatch.Frequency / requestsPerSecond));
        _newConnectionEvery = newConnectionEvery;
        _initialConnections = initialConnections;
    }

    /// <summary>Most client connections open at once during the run.</summary>
    public int PeakConnections { get; private set; }

    /// <summary>What one tenant's requests saw during one phase.</summary>
    public sealed class Phase
    {
        internal readonly object Gate = new();
        internal long StartTicks = long.MaxValue;
        internal long EndTicks = long.MaxValue;

        public double Seconds => EndTicks == long.MaxValue ? 0 : (EndTicks - StartTicks) / (double)Stopwatch.Frequency;

        /// <summary>Requests scheduled in the window (sent or not): the rate the tenant wanted.</summary>
        public long Scheduled => Sent + Unsent;

        public long Sent { get; internal set; }

        /// <summary>Slots in the window not sent because the generator's connection cap was reached.</summary>
        public long Unsent { get; internal set; }

        public long Ok { get; internal set; }

        public long TooMany { get; internal set; }

        public long Unavailable { get; internal set; }

        public long OtherStatus { get; internal set; }

        public long Errors { get; internal set; }

        /// <summary>Most client connections the tenant had open at once during the window.</summary>
        public int PeakConnections { get; internal set; }

        /// <summary>Latency of the 200 answers from their scheduled send time.</summary>
        public LatencyHistogram OkLatency { get; } = new();

        public double SuccessRate => Scheduled == 0 ? 0 : Ok / (double)Scheduled;
    }

    public void Start()
    {
        for (var i = 0; i < _initialConnections; i++)
        {
            _idle.Push(new Connection(this));
            _open++;
        }

        PeakConnections = _open;
        _scheduler = Task.Run(ScheduleAsync);
    }

    /// <summary>Opens <paramref name="phase"/>'s window now: requests scheduled from now on count in it.</summary>
    public void BeginPhase(Phase phase)
    {
        lock (_idle)
        {
            PeakConnections = _open;
        }

        phase.StartTicks = Stopwatch.GetTimestamp();
        Volatile.Write(ref _phases, [.. _phases, phase]);
    }

    /// <summary>Closes the window: requests scheduled from now on no longer count in it.</summary>
    public void EndPhase(Phase phase)
    {
        Volatile.Write(ref phase.EndTicks, Stopwatch.GetTimestamp());
        lock (_idle)
        {
            phase.PeakConnections = PeakConnections;
        }
    }

    /// <summary>Stops scheduling; requests in progress finish (and are counted) or are cut after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _stop = true;
        await _scheduler.ConfigureAwait(false);
        Task[] pending;
        lock (_idle)
        {
            pending = [.. _inFlight];
        }

        var all = Task.WhenAll(pending);
        if (await Task.WhenAny(all, Task.Delay(grace)).ConfigureAwait(false) != all)
        {
            lock (_idle)
            {
                foreach (var connection in _busy)
                {
                    connection.Dispose();
                }
            }
        }

        await all.ConfigureAwait(false);
        lock (_idle)
        {
            while (_idle.TryPop(out var connection))
            {
                connection.Dispose();
            }
        }
    }

    private Phase? PhaseFor(long scheduled)
    {
        foreach (var phase in Volatile.Read(ref _phases))
        {
            if (scheduled >= phase.StartTicks && scheduled < Volatile.Read(ref phase.EndTicks))
            {
                return phase;
            }
        }

        return null;
    }

    private async Task ScheduleAsync()
    {
        var next = Stopwatch.GetTimestamp();
        long count = 0;
        while (!_stop)
        {
            var now = Stopwatch.GetTimestamp();
            if (next > now)
            {
                // At least 1 ms: a shorter TimeSpan rounds to Task.Delay(0), which completes at once and would spin.
                var milliseconds = Math.Max(1, (int)((next - now) * 1000 / Stopwatch.Frequency));
                await Task.Delay(milliseconds).ConfigureAwait(false);
                continue;
            }

            // Every slot that is due goes out now (the timer wakes about once a millisecond).
            while (next <= now && !_stop)
            {
                var scheduled = next;
                next += _intervalTicks;
                count++;
                var fresh = _newConnectionEvery > 0 && count % _newConnectionEvery == 0;
                Connection? connection;
                lock (_idle)
                {
                    if (fresh || !_idle.TryPop(out connection))
                    {
                        connection = _open < MaxConnections ? new Connection(this) : null;
                        if (connection is not null)
                        {
                            _open++;
                            PeakConnections = Math.Max(PeakConnections, _open);
                        }
                    }

                    if (connection is not null)
                    {
                        _busy.Add(connection);
                    }
                }

                var phase = PhaseFor(scheduled);
                if (connection is null)
                {
                    if (phase is not null)
                    {
                        lock (phase.Gate)
                        {
                            phase.Unsent++;
                        }
                    }

                    continue;
                }

                var task = RunOneAsync(connection, scheduled, phase, fresh);
                lock (_idle)
                {
                    if (!task.IsCompleted)
                    {
                        _inFlight.Add(task);
                    }
                }
            }
        }
    }

    private async Task RunOneAsync(Connection connection, long scheduled, Phase? phase, bool fresh)
    {
        var status = await connection.SendAsync(fresh ? _closeRequest : _keepAliveRequest, closeAfter: fresh).ConfigureAwait(false);
        var finished = Stopwatch.GetTimestamp();
        if (phase is not null)
        {
            lock (phase.Gate)
            {
                phase.Sent++;
                switch (status)
                {
                    case 200:
                        phase.Ok++;
                        phase.OkLatency.Record((long)((finished - scheduled) * NanosecondsPerTick));
                        break;
                    case 429: phase.TooMany++; break;
                    case 503: phase.Unavailable++; break;
                    case < 0: phase.Errors++; break;
                    default: phase.OtherStatus++; break;
                }
            }
        }

        lock (_idle)
        {
            _busy.Remove(connection);
            if (connection.IsOpen && !_stop)
            {
                _idle.Push(connection);
            }
            else
            {
                connection.Dispose();
                _open--;
            }

            _inFlight.RemoveWhere(static t => t.IsCompleted);
        }
    }

    private sealed class Connection(OpenLoopGenerator owner) : IDisposable
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private Socket? _socket;
        private bool _used;

        /// <summary>Still usable for another request (a fresh connection that was never used counts as open).</summary>
        public bool IsOpen => _socket is not null || !_used;

        public void Dispose()
        {
            _used = true;
            _socket?.Dispose();
            _socket = null;
        }

        /// <summary>One request and its whole response: the status, or -1 on a connection error.</summary>
        public async Task<int> SendAsync(byte[] request, bool closeAfter)
        {
            _used = true;
            var socket = _socket;
            try
            {
                if (socket is null)
                {
                    socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    _socket = socket;
                    await socket.ConnectAsync(owner._target).ConfigureAwait(false);
                }

                await socket.SendAsync(request, SocketFlags.None).ConfigureAwait(false);
                var buffer = _buffer;
                var (filled, headLength) = await ResponseHead.ReceiveHeadAsync(socket, buffer).ConfigureAwait(false);
                if (!ResponseHead.TryParse(buffer.AsSpan(0, headLength), out var status, out var contentLength, out var close))
                {
                    throw new SocketException((int)SocketError.ProtocolNotSupported);
                }

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

                // lb says Connection: close on the refusals after which it closes (a body-less 401/403/429 keeps it).
                if (closeAfter || close)
                {
                    Dispose();
                }

                return status;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                Dispose();
                return -1;
            }
        }
    }
}
