using System.IO.Pipelines;
using System.Net.Sockets;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Proxy;

/// <summary>Raw byte copying for tunnels (after a 101, and L4 connections): one direction per call.</summary>
internal static class DuplexPump
{
    /// <summary>Runs both directions until each side has closed (half-closes are passed on), or one fails (both are aborted).</summary>
    /// <param name="tenant">Counts the bytes each way as they go (tcp listeners); null counts nothing here.</param>
    public static Task RunAsync(PipeReader clientReader, IConnection client, PipeReader backendReader, IConnection backend, Tenancy.TenantState? tenant = null)
        => Task.WhenAll(PumpAsync(clientReader, backend, tenant, received: true), PumpAsync(backendReader, client, tenant, received: false));

    public static async Task PumpAsync(PipeReader reader, IConnection destination, Tenancy.TenantState? tenant = null, bool received = false)
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
                    tenant?.CountTcpBytes(received, buffer.Length);
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
