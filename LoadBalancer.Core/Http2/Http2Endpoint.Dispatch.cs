using System.Buffers;
using LoadBalancer.Core.Http2.Frames;

namespace LoadBalancer.Core.Http2;

/// <summary>Which handler a checked frame goes to: the frame types both sides of lb treat alike, then the side's own.</summary>
internal abstract partial class Http2Endpoint<TStream>
{
    protected abstract ValueTask<bool> OnSettingsAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload);

    protected abstract ValueTask<bool> OnWindowUpdateAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload);

    protected abstract ValueTask<bool> OnHeadersAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload);

    protected abstract ValueTask<bool> OnContinuationAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload);

    protected abstract ValueTask<bool> OnDataAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload);

    /// <summary>RST_STREAM, GOAWAY, PUSH_PROMISE, PRIORITY and extension frames: what each side makes of them differs.</summary>
    protected abstract ValueTask<bool> OnOtherFrameAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload);

    /// <summary>Hands one well-formed frame to its handler; false ends the connection.</summary>
    protected ValueTask<bool> DispatchAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload) => header.Type switch
    {
        Http2FrameType.Settings => OnSettingsAsync(header, payload),
        Http2FrameType.Ping => OnPingAsync(header, payload),
        Http2FrameType.WindowUpdate => OnWindowUpdateAsync(header, payload),
        Http2FrameType.Headers => OnHeadersAsync(header, payload),
        Http2FrameType.Continuation => OnContinuationAsync(header, payload),
        Http2FrameType.Data => OnDataAsync(header, payload),
        _ => OnOtherFrameAsync(header, payload),
    };

    private async ValueTask<bool> OnPingAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (!header.HasFlag(Http2Flags.Ack))
        {
            await SendPingAckAsync(payload).ConfigureAwait(false);
        }

        return true;
    }
}
