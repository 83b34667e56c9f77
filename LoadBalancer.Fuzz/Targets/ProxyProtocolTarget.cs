using System.Net;
using LoadBalancer.Core.Transport;
using LoadBalancer.Fuzz.Reference;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// ProxyProtocolCodec.TryRead (v1 and v2) and its writers. Properties: consumed within the input and the spec's caps;
/// every split point gives the whole-input outcome; bounded allocation; a v1 line is accepted exactly when the strict
/// reference (<see cref="StrictProxyV1"/>) accepts it, with the same source; whatever was read re-encodes (WriteV1,
/// WriteV2) to a header that reads back to the same source; and endpoints made from the input bytes survive a
/// write-then-read in both versions.
/// </summary>
internal static class ProxyProtocolTarget
{
    private static readonly byte[] Buffer = new byte[256];

    public static void Run(ReadOnlySpan<byte> data)
    {
        var status = ProxyProtocolCodec.TryRead(data, out int consumed, out var source);
        if (status == ProxyProtocolStatus.Complete)
        {
            int cap = data[0] == (byte)'P' ? ProxyProtocolCodec.MaxV1Length : ProxyProtocolCodec.MaxV2Length;
            Check.That(consumed > 0 && consumed <= data.Length && consumed <= cap, $"consumed {consumed} of {data.Length}");
        }
        else
        {
            Check.That(source is null, "a source without a Complete header");
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var again = ProxyProtocolCodec.TryRead(data, out int againConsumed, out var againSource);
        Check.Allocated(before, 512, "ProxyProtocolCodec.TryRead");
        Check.That(again == status && (status != ProxyProtocolStatus.Complete || (againConsumed == consumed && Equals(againSource, source))), "the same input read twice differs");

        int limit = Math.Min(data.Length, ProxyProtocolCodec.MaxV2Length + 1);
        foreach (int k in HeadFacts.SplitPoints(limit))
        {
            var partStatus = ProxyProtocolCodec.TryRead(data[..k], out int partConsumed, out var partSource);
            Check.That(partStatus == ProxyProtocolStatus.Incomplete
                || (partStatus == status && (status != ProxyProtocolStatus.Complete || (partConsumed == consumed && Equals(partSource, source)))),
                $"split at {k}: prefix gives {partStatus} ({partConsumed}, {partSource}), whole input {status} ({consumed}, {source})");
        }

        if (data.Length > 0 && data[0] == (byte)'P')
        {
            CompareV1(data, status, source);
        }

        if (status == ProxyProtocolStatus.Complete && source is not null)
        {
            RoundTrip(source, new IPEndPoint(source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 443), source);
        }

        WriteFromInput(data);
    }

    /// <summary>The differential half: lb and the strict reference agree on accept/reject and on the source.</summary>
    private static void CompareV1(ReadOnlySpan<byte> data, ProxyProtocolStatus status, IPEndPoint? source)
    {
        int lineEnd = data[..Math.Min(data.Length, ProxyProtocolCodec.MaxV1Length)].IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return; // Incomplete or over the length cap: the split property covers it.
        }

        var reference = StrictProxyV1.Parse(data[..lineEnd]);
        if (reference is null)
        {
            Check.That(status == ProxyProtocolStatus.Invalid, $"lb accepts the v1 line {Check.Show(data[..lineEnd])} (source {source}) that the strict reference rejects");
            return;
        }

        Check.That(status == ProxyProtocolStatus.Complete, $"lb rejects the v1 line {Check.Show(data[..lineEnd])} that the strict reference accepts");
        Check.That(Equals(source, reference.Value.Source), $"v1 source: lb {source}, reference {reference.Value.Source}");
    }

    private static void RoundTrip(IPEndPoint source, IPEndPoint target, IPEndPoint expected)
    {
        int n = ProxyProtocolCodec.WriteV1(Buffer, source, target);
        var status = ProxyProtocolCodec.TryRead(Buffer.AsSpan(0, n), out int consumed, out var read);
        Check.That(status == ProxyProtocolStatus.Complete && consumed == n && Equals(read, expected),
            $"WriteV1({source}, {target}) = {Check.Show(Buffer.AsSpan(0, n))} reads back as {status} {read}, expected {expected}");
        Check.That(StrictProxyV1.Parse(Buffer.AsSpan(0, n - 2)) is { Unknown: false } r && Equals(r.Source, expected),
            $"WriteV1({source}, {target}) = {Check.Show(Buffer.AsSpan(0, n))} is not a line the strict reference reads as {expected}");

        n = ProxyProtocolCodec.WriteV2(Buffer, source, target);
        status = ProxyProtocolCodec.TryRead(Buffer.AsSpan(0, n), out consumed, out read);
        Check.That(status == ProxyProtocolStatus.Complete && consumed == n && Equals(read, expected),
            $"WriteV2({source}, {target}) reads back as {status} {read}, expected {expected}");
    }

    /// <summary>Endpoints chosen by the input: IPv4, IPv6 and IPv4-mapped IPv6, in any mix of families.</summary>
    private static void WriteFromInput(ReadOnlySpan<byte> data)
    {
        if (data.Length < 40)
        {
            return;
        }

        var source = Endpoint(data[0], data.Slice(1, 16), data.Slice(17, 2));
        var target = Endpoint(data[19], data.Slice(20, 16), data.Slice(36, 2));
        var (src, dst) = (Unmap(source), Unmap(target));
        var expected = src.AddressFamily == dst.AddressFamily ? src : new IPEndPoint(src.Address.MapToIPv6(), src.Port);
        RoundTrip(source, target, expected);
    }

    private static IPEndPoint Endpoint(byte kind, ReadOnlySpan<byte> address, ReadOnlySpan<byte> port)
    {
        int p = (port[0] << 8) | port[1];
        return (kind % 3) switch
        {
            0 => new IPEndPoint(new IPAddress(address[..4]), p),
            1 => new IPEndPoint(new IPAddress(address), p),
            _ => new IPEndPoint(new IPAddress(address[..4]).MapToIPv6(), p),
        };
    }

    private static IPEndPoint Unmap(IPEndPoint e) => e.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(e.Address.MapToIPv4(), e.Port) : e;
}
