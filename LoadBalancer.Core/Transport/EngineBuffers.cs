using System.Buffers;
using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// The proxy engine's per-request buffers: 4 KiB (client reads, heads), 64 KiB (backend reads, long heads) and header
/// tables, each from an <see cref="ArrayCache{T}"/> sized for thousands of requests in flight. Per-thread stacks stay small, so buffers rented on one thread (an accepting thread starting a session) and returned on another (its event loop) flow back through the shared queue instead of piling up on the returning thread. Other sizes go to the
/// shared <see cref="ArrayPool{T}"/>.
/// </summary>
internal static class EngineBuffers
{
    public const int SmallSize = 4096;
    public const int LargeSize = 64 * 1024;

    private static readonly ArrayCache<byte> Small = new(SmallSize, perThread: 32, shared: 4096);
    private static readonly ArrayCache<byte> Large = new(LargeSize, perThread: 8, shared: 256);
    // 128 covers the default max_headers (100); larger limits rent from the shared pool.
    private static readonly ArrayCache<HeaderLine> Headers = new(128, perThread: 32, shared: 4096);

    public static byte[] Rent(int minimumLength)
        => minimumLength <= SmallSize ? Small.Rent()
            : minimumLength <= LargeSize ? Large.Rent()
            : ArrayPool<byte>.Shared.Rent(minimumLength);

    public static void Return(byte[] array)
    {
        if (array.Length == SmallSize)
        {
            Small.Return(array);
        }
        else if (array.Length == LargeSize)
        {
            Large.Return(array);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    public static HeaderLine[] RentHeaders(int count)
        => count <= Headers.Length ? Headers.Rent() : ArrayPool<HeaderLine>.Shared.Rent(count);

    public static void ReturnHeaders(HeaderLine[] headers)
    {
        if (headers.Length == Headers.Length)
        {
            Headers.Return(headers);
        }
        else
        {
            ArrayPool<HeaderLine>.Shared.Return(headers);
        }
    }
}
