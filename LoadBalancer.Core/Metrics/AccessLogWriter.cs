using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Collections.Concurrent;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Metrics;

/// <summary>
/// Writes one JSON line per request (<c>[access_log]</c>) on its own task, off the connections' threads. Entries go
/// into a queue bounded by <see cref="Capacity"/>: when the writer falls behind, new lines are dropped and counted
/// (<c>lb_access_log_dropped_total</c>); a request never waits for the log.
/// </summary>
/// <remarks>
/// The bound is an Interlocked count in front of a lock-free queue. The writer is not woken per line: it drains the
/// queue every <see cref="DrainInterval"/> (as nginx's buffered <c>access_log ... flush=</c> does). Waking it per line,
/// as a channel's waiting reader is, cost a thread-pool dispatch and a context switch per request on the proxy's
/// core: the accounting bench's file-log row measured 0.52x the no-log rate that way. Formatting allocates nothing
/// per line. The file (or stdout) is opened on the first line, so a writer compiled into a snapshot that never goes
/// live holds nothing.
/// </remarks>
public sealed class AccessLogWriter : IAsyncDisposable
{
    public const string Stdout = "stdout";
    public const int DefaultCapacity = 8192;
    public const int MaxTargetBytes = 2048;

    /// <summary>How long a line may wait in the queue before it is written: 8,192 lines absorb 400,000 lines/s.</summary>
    public static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(20);

    private readonly ConcurrentQueue<AccessLogEntry> _queue = new();
    private readonly SemaphoreSlim _unparked = new(0);
    private int _parked;

    private readonly Lock _startLock = new();
    private Task? _loop;
    private int _pending;
    private long _written;
    private long _dropped;
    private volatile bool _completed;

    public AccessLogWriter(string target, int capacity = DefaultCapacity)
    {
        Target = target;
        Capacity = capacity;
    }

    /// <summary><see cref="Stdout"/> or a full file path.</summary>
    public string Target { get; }

    public int Capacity { get; }

    public long Written => Interlocked.Read(ref _written);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>True while the writer sleeps for want of lines (tests wait on it to prove the wake-up).</summary>
    internal bool IsParked => Volatile.Read(ref _parked) != 0;

    /// <summary>Queues a line; false (and counted as dropped) when the queue is full or the writer is closed. Never blocks.</summary>
    public bool TryWrite(in AccessLogEntry entry)
    {
        if (_completed || Interlocked.Increment(ref _pending) > Capacity)
        {
            if (!_completed)
            {
                Interlocked.Decrement(ref _pending);
            }

            Drop(entry);
            return false;
        }

        if (_loop is null)
        {
            Start();
        }

        _queue.Enqueue(entry);
        if (Volatile.Read(ref _parked) != 0 && Interlocked.Exchange(ref _parked, 0) != 0)
        {
            // The writer sleeps only after a tick found nothing: one wake per idle period, not per line.
            _unparked.Release();
        }

        return true;
    }

    private void Drop(in AccessLogEntry entry)
    {
        Interlocked.Increment(ref _dropped);
        if (entry.RequestLine is { } rented)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void Start()
    {
        // Once per writer, on its first line: the lock is never taken again afterwards.
        lock (_startLock)
        {
            _loop ??= Task.Run(RunAsync);
        }
    }

    private async Task RunAsync()
    {
        var stream = Target == Stdout
            ? Console.OpenStandardOutput()
            : new FileStream(Target, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        using var ticks = new PeriodicTimer(DrainInterval);
        try
        {
            while (true)
            {
                // Read the flag before draining: a line queued before completion is then always written.
                var completed = _completed;
                var lines = await DrainAsync(stream, buffer, json).ConfigureAwait(false);
                if (completed)
                {
                    break;
                }

                if (lines == 0)
                {
                    await ParkAsync().ConfigureAwait(false);
                }

                await ticks.WaitForNextTickAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            if (Target != Stdout)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>An idle log costs no timer wake-ups: the writer sleeps until the next line (or completion) wakes it.</summary>
    private async ValueTask ParkAsync()
    {
        // A full fence (not a release store): the queue is read after the flag is visible, or a line could slip past both.
        Interlocked.Exchange(ref _parked, 1);
        if (!_queue.IsEmpty || _completed)
        {
            // A line (or the stop) came in before the flag was seen: do not sleep on it.
            if (Interlocked.Exchange(ref _parked, 0) == 0)
            {
                await _unparked.WaitAsync().ConfigureAwait(false); // its producer's Release is on its way
            }

            return;
        }

        await _unparked.WaitAsync().ConfigureAwait(false);
    }

    private async ValueTask<int> DrainAsync(Stream stream, ArrayBufferWriter<byte> buffer, Utf8JsonWriter json)
    {
        var total = 0;
        var lines = 0;
        while (_queue.TryDequeue(out var entry))
        {
            Interlocked.Decrement(ref _pending);
            Format(json, entry);
            json.Flush();
            json.Reset();
            buffer.Write("\n"u8);
            lines++;
            total++;
            if (buffer.WrittenCount > 48 * 1024)
            {
                await WriteAsync(stream, buffer, lines).ConfigureAwait(false);
                lines = 0;
            }
        }

        if (lines > 0)
        {
            await WriteAsync(stream, buffer, lines).ConfigureAwait(false);
        }

        return total;
    }

    /// <summary>A failed write (a full disk, a closed stdout) drops and counts its lines; the next batch tries again.</summary>
    private async ValueTask WriteAsync(Stream stream, ArrayBufferWriter<byte> buffer, int lines)
    {
        try
        {
            await stream.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
            await stream.FlushAsync().ConfigureAwait(false);
            Interlocked.Add(ref _written, lines);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Interlocked.Add(ref _dropped, lines);
        }
        finally
        {
            buffer.ResetWrittenCount();
        }
    }

    private static void Format(Utf8JsonWriter json, in AccessLogEntry entry)
    {
        json.WriteStartObject();
        json.WriteString("time"u8, new DateTime(entry.TimeUtcTicks, DateTimeKind.Utc));
        json.WriteString("tenant"u8, entry.Tenant);
        if (entry.KeyId is null)
        {
            json.WriteNull("key_id"u8);
        }
        else
        {
            json.WriteString("key_id"u8, entry.KeyId);
        }

        json.WriteString("client"u8, entry.ClientIp); // ASCII, so already UTF-8
        if (entry.Tcp)
        {
            json.WriteString("protocol"u8, "tcp"u8);
        }

        if (entry.RequestLine is { } line)
        {
            WriteLatin1(json, "method"u8, line.AsSpan(0, entry.MethodLength));
            WriteLatin1(json, "path"u8, line.AsSpan(entry.MethodLength, entry.TargetLength));
            ArrayPool<byte>.Shared.Return(line);
        }

        if (!entry.Tcp)
        {
            json.WriteNumber("status"u8, entry.Status);
        }

        json.WriteNumber("bytes_in"u8, entry.BytesReceived);
        json.WriteNumber("bytes_out"u8, entry.BytesSent);
        if (entry.Backend is null)
        {
            json.WriteNull("backend"u8);
        }
        else
        {
            json.WriteString("backend"u8, entry.Backend);
        }

        json.WriteNumber("duration_ms"u8, Math.Round(entry.DurationTicks * 1000.0 / Stopwatch.Frequency, 3));
        json.WriteString("close_reason"u8, CloseReasonName(entry.CloseReason));
        if (entry.Route is null)
        {
            json.WriteNull("route"u8);
        }
        else
        {
            json.WriteString("route"u8, entry.Route);
        }

        if (entry.Consumer is null)
        {
            json.WriteNull("consumer"u8);
        }
        else
        {
            json.WriteString("consumer"u8, entry.Consumer);
        }
        json.WriteEndObject();
    }

    /// <summary>Request-line bytes are Latin-1 (RFC 9110 obs-text), not UTF-8: widened to chars on the stack, not a string.</summary>
    private static void WriteLatin1(Utf8JsonWriter json, ReadOnlySpan<byte> name, ReadOnlySpan<byte> latin1)
    {
        Span<char> chars = stackalloc char[MaxTargetBytes + 64];
        var count = Encoding.Latin1.GetChars(latin1[..Math.Min(latin1.Length, chars.Length)], chars);
        json.WriteString(name, chars[..count]);
    }

    private static readonly string[] CloseReasonNames = BuildCloseReasonNames();

    private static string CloseReasonName(CloseReason reason)
        => (uint)reason < (uint)CloseReasonNames.Length ? CloseReasonNames[(int)reason] : reason.ToString();

    private static string[] BuildCloseReasonNames()
    {
        var values = Enum.GetValues<CloseReason>();
        var names = new string[values.Length];
        foreach (var value in values)
        {
            // "None" means the connection stayed open for the next request.
            names[(int)value] = value == CloseReason.None ? "keep-alive" : JsonNamingPolicy.KebabCaseLower.ConvertName(value.ToString());
        }

        return names;
    }

    /// <summary>Stops taking lines, writes what is queued and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _completed = true;
        if (Interlocked.Exchange(ref _parked, 0) != 0)
        {
            _unparked.Release();
        }

        Task? loop;
        lock (_startLock)
        {
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        // Lines that raced with completion were never read: give their buffers back.
        while (_queue.TryDequeue(out var entry))
        {
            Drop(entry);
        }
    }
}
