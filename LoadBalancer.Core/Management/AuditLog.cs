using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Management;

/// <summary>
/// <c>[admin] audit_log</c>: one JSON line per management write (<c>time</c>, <c>token_id</c>, <c>method</c>,
/// <c>resource</c>, <c>diff</c>, <c>result</c>), appended by one background task fed through a bounded channel, so
/// no request thread touches the file. The path is asked of <paramref name="path"/> for every line, so a reload that
/// sets, moves or removes <c>audit_log</c> applies to the next write. A write's answer waits (at most 5 s) until its line
/// is on disk: a change is not acknowledged before it is recorded.
/// </summary>
public sealed partial class AuditLog : IAsyncDisposable
{
    private static readonly TimeSpan WaitForLine = TimeSpan.FromSeconds(5);
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Func<string?> _path;
    private readonly ILogger _logger;
    private readonly Channel<(AuditEntry Entry, string Path, TaskCompletionSource Written)> _lines =
        Channel.CreateBounded<(AuditEntry, string, TaskCompletionSource)>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Task _writer;

    public AuditLog(Func<string?> path, ILogger logger)
    {
        _path = path;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Queues the entry's line and waits until it is written (or failed, which is logged); no-op without <c>audit_log</c>.</summary>
    public async Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_path() is not { } path)
        {
            return;
        }

        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(WaitForLine);
        try
        {
            await _lines.Writer.WriteAsync((entry, path, written), timeout.Token).ConfigureAwait(false);
            await written.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogSlow(_logger, path);
        }
        catch (ChannelClosedException)
        {
            // lb is stopping; the write itself was already applied.
        }
    }

    /// <summary>One entry as its JSON line (without the newline).</summary>
    public static string Line(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("time", entry.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("token_id", entry.TokenId);
            writer.WriteString("method", entry.Method);
            writer.WriteString("resource", entry.Resource);
            writer.WriteString("diff", entry.Diff);
            writer.WriteString("result", entry.Result);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private async Task WriteLoopAsync()
    {
        await foreach (var (entry, path, written) in _lines.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await File.AppendAllTextAsync(path, Line(entry) + "\n").ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogFailed(_logger, path, e.Message);
            }
            finally
            {
                written.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 2400, Level = LogLevel.Error, Message = "Audit log {Path}: cannot write: {Reason}")]
    private static partial void LogFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Warning, Message = "Audit log {Path}: the line was not written within 5 s")]
    private static partial void LogSlow(ILogger logger, string path);
}
