using System.Buffers.Binary;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// The look at a TLS listener's first bytes before the handshake: is this TLS at all (plain HTTP gets a 400 instead),
/// is the first record complete, and does the ClientHello offer an ECDSA signature scheme (RFC 8446 section 4.2.3), so
/// that a name with both an ECDSA and an RSA certificate gets the ECDSA one. Allocation-free, over the bytes read so far.
/// </summary>
internal static class ClientHelloPeek
{
    public enum Status
    {
        /// <summary>The first record is not complete yet.</summary>
        Incomplete,

        /// <summary>The first record is complete (or the hello is unusual: the handshake itself judges it).</summary>
        Complete,

        /// <summary>The first byte is not a TLS handshake record: plain text, most likely an HTTP request.</summary>
        NotTls,
    }

    private const byte HandshakeRecord = 22;
    private const int SignatureAlgorithms = 13;

    /// <summary>The most bytes the peek waits for: one full record and its header.</summary>
    public const int MaxRecord = 5 + (16 * 1024);

    public static Status Inspect(ReadOnlySpan<byte> data, out bool offersEcdsa)
    {
        offersEcdsa = true;
        if (data.Length == 0)
        {
            return Status.Incomplete;
        }

        if (data[0] != HandshakeRecord)
        {
            return Status.NotTls;
        }

        if (data.Length < 5)
        {
            return Status.Incomplete;
        }

        var recordLength = BinaryPrimitives.ReadUInt16BigEndian(data[3..5]);
        if (data.Length < 5 + recordLength)
        {
            return Status.Incomplete;
        }

        offersEcdsa = OffersEcdsa(data.Slice(5, recordLength));
        return Status.Complete;
    }

    /// <summary>True unless the hello lists signature algorithms and none of them is ECDSA (or the hello cannot be read here).</summary>
    private static bool OffersEcdsa(ReadOnlySpan<byte> record)
    {
        if (record.Length < 4 || record[0] != 1)
        {
            return true;
        }

        var hello = record[4..];
        var messageLength = (record[1] << 16) | (record[2] << 8) | record[3];
        if (messageLength < hello.Length)
        {
            hello = hello[..messageLength];
        }

        var offset = 2 + 32;
        if (!Skip(hello, ref offset, 1) || !Skip(hello, ref offset, 2) || !Skip(hello, ref offset, 1) || offset + 2 > hello.Length)
        {
            return true;
        }

        var end = Math.Min(hello.Length, offset + 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[offset..]));
        offset += 2;
        while (offset + 4 <= end)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(hello[offset..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(hello[(offset + 2)..]);
            var body = offset + 4;
            if (body + length > end)
            {
                return true;
            }

            if (type == SignatureAlgorithms && length >= 2)
            {
                var list = hello.Slice(body + 2, Math.Min(length - 2, BinaryPrimitives.ReadUInt16BigEndian(hello[body..])));
                for (var i = 0; i + 1 < list.Length; i += 2)
                {
                    // ecdsa_sha1 (0x0203) and ecdsa_secp256r1_sha256 .. secp521r1_sha512 (0x0403..0x0603).
                    if (list[i + 1] == 3 && list[i] is >= 2 and <= 6)
                    {
                        return true;
                    }
                }

                return false;
            }

            offset = body + length;
        }

        return true;
    }

    private static bool Skip(ReadOnlySpan<byte> data, ref int offset, int lengthBytes)
    {
        if (offset + lengthBytes > data.Length)
        {
            return false;
        }

        var length = lengthBytes == 1 ? data[offset] : BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
        offset += lengthBytes + length;
        return offset <= data.Length;
    }
}
