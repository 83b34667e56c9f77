using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// Which of a listener's <c>upgrade_protocols</c> a request's <c>Upgrade</c> field names, as a bit mask over that list
/// (RFC 9110 section 7.8). Only those tokens are forwarded; the rest (h2c above all, RFC 9113 section 3.1) are stripped,
/// and a 101 must switch to one of them. Allocation-free: the mask indexes the snapshot's precompiled list.
/// </summary>
internal readonly struct UpgradeOffer(byte[][] allowed, ulong mask)
{
    /// <summary>At most this many entries of <c>upgrade_protocols</c> take part (the mask's width).</summary>
    public const int MaxProtocols = 64;

    public byte[][] Allowed { get; } = allowed;

    public ulong Mask { get; } = mask;

    public bool IsEmpty => Mask == 0;

    public static UpgradeOffer None => new([], 0);

    /// <summary>The allowed protocols that <paramref name="headers"/>' Upgrade fields name.</summary>
    public static UpgradeOffer From(ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers, byte[][] allowed)
    {
        ulong mask = 0;
        foreach (ref readonly var header in headers)
        {
            if (header.Kind != HeaderKind.Upgrade)
            {
                continue;
            }

            var value = source.Slice(header.ValueStart, header.ValueLength);
            foreach (var range in value.Split((byte)','))
            {
                var index = IndexOf(allowed, value[range]);
                if (index >= 0)
                {
                    mask |= 1UL << index;
                }
            }
        }

        return new UpgradeOffer(allowed, mask);
    }

    /// <summary>Writes <c>Upgrade: </c> with the offered tokens as the client wrote them (versions kept), and <c>Connection: upgrade</c>.</summary>
    public void Write(ref SpanWriter writer, ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers)
    {
        writer.Write("Upgrade: "u8);
        var first = true;
        foreach (ref readonly var header in headers)
        {
            if (header.Kind != HeaderKind.Upgrade)
            {
                continue;
            }

            var value = source.Slice(header.ValueStart, header.ValueLength);
            foreach (var range in value.Split((byte)','))
            {
                var token = value[range].Trim(" \t"u8);
                if (IndexOf(Allowed, token) is var index && index >= 0 && (Mask & (1UL << index)) != 0)
                {
                    if (!first)
                    {
                        writer.Write(", "u8);
                    }

                    writer.Write(token);
                    first = false;
                }
            }
        }

        writer.Write("\r\nConnection: upgrade\r\n"u8);
    }

    /// <summary>A 101 is accepted only if every protocol its Upgrade field names was offered (and it names one).</summary>
    public bool Accepts(ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers)
    {
        var named = false;
        foreach (ref readonly var header in headers)
        {
            if (header.Kind != HeaderKind.Upgrade)
            {
                continue;
            }

            var value = source.Slice(header.ValueStart, header.ValueLength);
            foreach (var range in value.Split((byte)','))
            {
                var token = value[range].Trim(" \t"u8);
                if (token.IsEmpty)
                {
                    continue;
                }

                var index = IndexOf(Allowed, token);
                if (index < 0 || (Mask & (1UL << index)) == 0)
                {
                    return false;
                }

                named = true;
            }
        }

        return named;
    }

    /// <summary>Position of the token's protocol name (before any "/version") in <paramref name="allowed"/>, or -1.</summary>
    private static int IndexOf(byte[][] allowed, ReadOnlySpan<byte> token)
    {
        token = token.Trim(" \t"u8);
        var slash = token.IndexOf((byte)'/');
        var name = slash < 0 ? token : token[..slash];
        if (name.IsEmpty || Ascii.EqualsIgnoreCase(name, "h2c"u8))
        {
            return -1;
        }

        var count = Math.Min(allowed.Length, MaxProtocols);
        for (var i = 0; i < count; i++)
        {
            if (Ascii.EqualsIgnoreCase(name, allowed[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
