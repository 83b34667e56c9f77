using System.IO.Pipelines;
using System.Net.Sockets;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Proxy;

/// <summary>Raw byte copying for tunnels (after a 101, and L4 connections): one direction per call.</summary>
internal static class DuplexPump
{
    /// <summary>Runs both directions until each side has closed (half-closes are passed on), or one fails (both are aborted).</summary>
    /// <param name="bytes">Counts the bytes each way as they go (tcp listeners); null counts nothing here.</param>
    public static Task RunAsync(PipeReader clientReader, IConnection client, PipeReader backendReader, IConnection backend, TunnelBytes? bytes = null)
        => Task.WhenAll(PumpAsync(clientReader, backend, bytes, received: true), PumpAsync(backendReader, client, bytes, received: false));

    public static async Task PumpAsync(PipeReader reader, IConnection destination, TunnelBytes? bytes = null, bool received = false)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    await SocketIo.SendAsync(destination, buffer, timer: null).ConfigureAwait(false);
                    bytes?.Add(received, buffer.Length);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            // Half-close: the other direction may still have bytes to deliver.
            destination.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // One side failed: abort the destination so the opposite pump ends too.
            SocketIo.Abort(destination);
        }
    }
}
