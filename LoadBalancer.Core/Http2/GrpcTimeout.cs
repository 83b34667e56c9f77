namespace LoadBalancer.Core.Http2;

/// <summary>
/// gRPC's <c>grpc-timeout</c> request header (PROTOCOL-HTTP2.md): 1 to 8 ASCII digits, then a unit, H M S m u n
/// (hours, minutes, seconds, milli-, micro-, nanoseconds). Anything else is ignored, as gRPC servers do.
/// </summary>
internal static class GrpcTimeout
{
    public static bool TryParse(ReadOnlySpan<byte> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length is < 2 or > 9)
        {
            return false;
        }

        long amount = 0;
        foreach (var b in value[..^1])
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            amount = (amount * 10) + (b - '0');
        }

        // Ticks are 100 ns; 8 digits of hours still fit a TimeSpan.
        long? ticks = value[^1] switch
        {
            (byte)'H' => amount * TimeSpan.TicksPerHour,
            (byte)'M' => amount * TimeSpan.TicksPerMinute,
            (byte)'S' => amount * TimeSpan.TicksPerSecond,
            (byte)'m' => amount * TimeSpan.TicksPerMillisecond,
            (byte)'u' => amount * 10,
            (byte)'n' => amount / 100,
            _ => null,
        };
        if (ticks is not { } t)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(t);
        return true;
    }
}
