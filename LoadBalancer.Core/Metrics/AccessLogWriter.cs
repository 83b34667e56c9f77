using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Metrics;

/// <summary>
/// Writes one JSON line per request (<c>[access_log]</c>) on its own task, off the connections' threads. Entries go
/// through a channel bounded by <see cref="Capacity"/>: when the writer falls behind, new lines are dropped and counted
/// (<c>lb_access_log_dropped_total</c>); a request never waits for the log.
/// </summary>
/// <remarks>
/// The bound is an Interlocked count in front of a single-reader unbounded channel: a BoundedChannel takes a lock on
/// every write, which every connection would share. The file (or stdout) is opened on the first line, so a writer
/// compiled into a snapshot that never goes live holds nothing.
/// </remarks>
public sealed class AccessLogWriter : IAsyncDisposable
{
    public const string Stdout = "stdout";
    public const int DefaultCapacity = 8192;
    public const int MaxTargetBytes = 2048;

    private readonly Channel<AccessLogEntry> _channel = Channel.CreateUnbounded<AccessLogEntry>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = false,
        AllowSynchronousContinuations = false,
    });

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

        if (!_channel.Writer.TryWrite(entry))
        {
            Interlocked.Decrement(ref _pending);
            Drop(entry);
            return false;
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
        var reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var entry))
                {
                    Interlocked.Decrement(ref _pending);
                    Format(json, entry);
                    json.Flush();
                    json.Reset();
                    buffer.Write("\n"u8);
                    Interlocked.Increment(ref _written);
                    if (buffer.WrittenCount > 48 * 1024)
                    {
                        await stream.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
                        buffer.ResetWrittenCount();
                    }
                }

                if (buffer.WrittenCount > 0)
                {
                    await stream.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
                    buffer.ResetWrittenCount();
                }

                await stream.FlushAsync().ConfigureAwait(false);
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

        json.WriteString("client"u8, Encoding.ASCII.GetString(entry.ClientIp));
        if (entry.Tcp)
        {
            json.WriteString("protocol"u8, "tcp"u8);
        }

        if (entry.RequestLine is { } line)
        {
            json.WriteString("method"u8, Encoding.Latin1.GetString(line, 0, entry.MethodLength));
            json.WriteString("path"u8, Encoding.Latin1.GetString(line, entry.MethodLength, entry.TargetLength));
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
        _channel.Writer.TryComplete();
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
        while (_channel.Reader.TryRead(out var entry))
        {
            Drop(entry);
        }
    }
}
