using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;

using LoadBalancer.Core.Async;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// lb's own answers on an HTTP/1 connection: the cause recorded by whichever step refused, encoded by
/// <see cref="Http1ReplyEncoder"/> (constant bytes for the flood path, the 421 and 401 with their details), and whether the
/// connection may carry another request after it.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>
    /// Encodes the 421 now, naming the key that was seen (sanitized and capped by the encoder), while the head's bytes
    /// are at hand: into the pooled output buffer, nothing else.
    /// </summary>
    private void EncodeUnknownTenant(TenantKeyKind kind, ReadOnlySpan<byte> key)
    {
        var cause = kind switch
        {
            TenantKeyKind.PathPrefix => LocalReplies.UnknownPath,
            TenantKeyKind.Header => LocalReplies.UnknownHeaderKey,
            _ => LocalReplies.UnknownHost,
        };
        _replyCause = cause;
        RentOut(Http1ReplyEncoder.MaxLength);
        _replyLength = Http1ReplyEncoder.Write(new LocalReply(cause, key), _wantsJson, close: true, _out);
        if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
        {
            Log.LocalReply(_logger, _id, 421, cause.Code, cause.Detail, " " + Http1ReplyEncoder.SanitizedSubject(key));
        }
    }

    /// <summary>
    /// Refusals that leave the connection positioned at the next request: no body to skip, HTTP/1.1, and the client
    /// did not ask to close. Limits on connections (503) and bodies (413) still close, and so does an unknown tenant (421): a
    /// client confused about where it is talking gets no second request on the same connection.
    /// </summary>
    private bool CanKeepAliveAfterRefusal(int status)
        => status is 401 or 403 or 404 or 429
            && _requestFraming == BodyFraming.None
            && !_clientWantsClose
            && !_clientIsHttp10
            && !_listener.IsClosing;

    /// <summary>A refusal that keeps the connection must not leave its reason as the connection's close reason.</summary>
    private void ClearCloseReason() => Volatile.Write(ref _closeReason, (int)CloseReason.None);

    /// <summary>
    /// lb's own answer for <paramref name="status"/>: the 421 encoded at routing time, a 401 with its challenge, or the
    /// recorded cause's constant form (no encoding work: the flood path). Logged at Debug with the cause.
    /// </summary>
    private ReadOnlyMemory<byte> LocalReplyBytes(int status, bool close)
    {
        if (_replyLength > 0 && _out is not null)
        {
            // Logged where it was encoded, with the host seen.
            return _out.AsMemory(0, _replyLength);
        }

        var cause = _replyCause is { } recorded && recorded.Status == status ? recorded : LocalReplies.ForStatus(status);
        Log.LocalReply(_logger, _id, status, cause.Code, cause.Detail, "");
        if (status == 401 && Exchange.Tenant is { } tenant)
        {
            // RFC 9110 section 11.6.1: a 401 carries WWW-Authenticate, naming what this tenant expects (config only).
            RentOut(Http1ReplyEncoder.MaxLength);
            var length = Http1ReplyEncoder.Write(new LocalReply(cause, default, tenant.AccessKeyIsBearer ? default : tenant.AccessKeyHeader, tenant.AccessKeyIsBearer), _wantsJson, close, _out);
            return _out.AsMemory(0, length);
        }

        if (Exchange.Consumer is not null)
        {
            // An answer to a consumer names its limits (RateLimit headers) and, for its quota, when the period ends.
            RentOut(Http1ReplyEncoder.MaxLength);
            var length = Http1ReplyEncoder.Write(new LocalReply(cause, lines: Exchange.RateLimitLines.Span, retryAfterSeconds: Exchange.RetryAfterSeconds), _wantsJson, close, _out);
            return _out.AsMemory(0, length);
        }

        return Http1ReplyEncoder.Constant(cause, _wantsJson, close);
    }

    /// <summary>When <paramref name="reply"/> lives in _out, takes that buffer out of the request's resources (the caller returns it after the send).</summary>
    private byte[]? DetachReplyBuffer(ReadOnlyMemory<byte> reply)
    {
        var owned = _out;
        if (owned is null || !System.Runtime.InteropServices.MemoryMarshal.TryGetArray(reply, out var segment) || !ReferenceEquals(segment.Array, owned))
        {
            return null;
        }

        _out = null;
        return owned;
    }

    private async ValueTask SendCannedAsync(int status, ListenerSnapshot listener)
    {
        try
        {
            var response = LocalReplyBytes(status, close: true);
            ArmTimer(_clientTimer, listener.Timeouts.BodyIdle);
            OnResponseSent(status, response.Length); // tenancy: usage accounting
            await SocketIo.SendAsync(_client, response, _clientTimer).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsExpectedNetworkError(ex))
        {
            // The client is gone or not reading; the connection closes either way.
        }
    }

    /// <summary>
    /// For answers after the client timer has fired (408): the backend timer, idle by then, bounds the send instead,
    /// to the second the answer needs to fit in the socket's send buffer.
    /// </summary>
    private async ValueTask SendCannedUntimedAsync(int status)
    {
        try
        {
            ArmTimer(BackendTimer, LateAnswerTimeout);
            await SocketIo.SendAsync(_client, LocalReplyBytes(status, close: true), BackendTimer).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsExpectedNetworkError(ex))
        {
            // The client is gone; the connection closes either way.
        }
    }
}
