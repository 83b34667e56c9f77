using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace LoadBalancer.Core.Transport;

/// <summary>Small socket helpers shared by the client and backend sides.</summary>
internal static class SocketIo
{
    /// <summary>
    /// Idle connections must hold no buffer (STYLE: zero-byte read before renting), so every reader is created with
    /// zero-byte reads; 4 KiB segments keep a typical head and small body in one segment.
    /// </summary>
    private static readonly StreamPipeReaderOptions ReaderOptions = new(
        pool: MemoryPool<byte>.Shared,
        bufferSize: 4096,
        minimumReadSize: 1024,
        leaveOpen: true,
        useZeroByteReads: true);

    public static PipeReader CreateReader(Socket socket, out NetworkStream stream)
    {
        stream = new NetworkStream(socket, ownsSocket: false);
        return PipeReader.Create(stream, ReaderOptions);
    }

    public static void Configure(Socket socket)
    {
        socket.NoDelay = true;
    }

    /// <summary>For sockets on .NET's engine: admin, health probes, the demo backend, and SocketChannel's fallback.</summary>
    public static async ValueTask SendAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>Sends on a proxied socket, bounded by <paramref name="timer"/> (null: unbounded, e.g. tunnels).</summary>
    public static ValueTask SendAsync(IConnection channel, ReadOnlyMemory<byte> data, DeadlineTimer? timer)
        => channel.SendAsync(data, timer);

    public static ValueTask SendAsync(IConnection channel, in ReadOnlySequence<byte> data, DeadlineTimer? timer)
        => data.IsSingleSegment ? channel.SendAsync(data.First, timer) : SendMultiAsync(channel, data, timer);

    private static async ValueTask SendMultiAsync(IConnection channel, ReadOnlySequence<byte> data, DeadlineTimer? timer)
    {
        foreach (var segment in data)
        {
            await channel.SendAsync(segment, timer).ConfigureAwait(false);
        }
    }

    /// <summary>Teardown must never throw: the peer may already be gone.</summary>
    public static void Abort(IConnection? channel) => channel?.Abort();

    public static void CloseGracefully(IConnection? channel) => channel?.CloseGracefully();

    public static void CloseGracefully(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch
        {
            // Best effort: the peer may have reset the connection already.
        }

        socket.Dispose();
    }
}
