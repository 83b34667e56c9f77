using System.Buffers.Binary;

namespace LoadBalancer.Fuzz.Reference;

/// <summary>
/// A strict walk of the first TLS record (RFC 8446 section 4.1.2, RFC 6066 section 3), written apart from lb's peek:
/// every length must fit its container, the server_name extension's list must fill the extension exactly, and the
/// first HostName entry (name_type 0) must not be empty. Returns the name's offset and length in the input, or null.
/// </summary>
internal static class StrictClientHello
{
    public static (int Start, int Length)? ServerName(ReadOnlySpan<byte> data)
    {
        if (data.Length < 5 || data[0] != 22 || data[1] != 3)
        {
            return null;
        }

        int recordEnd = 5 + BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
        if (data.Length < recordEnd || recordEnd < 9 || data[5] != 1)
        {
            return null;
        }

        int helloEnd = 9 + ((data[6] << 16) | (data[7] << 8) | data[8]);
        if (helloEnd > recordEnd)
        {
            return null;
        }

        int p = 9 + 2 + 32;
        if (!Vector(data, ref p, helloEnd, 1) || !Vector(data, ref p, helloEnd, 2) || !Vector(data, ref p, helloEnd, 1))
        {
            return null;
        }

        if (p + 2 > helloEnd)
        {
            return null;
        }

        int extensionsEnd = p + 2 + BinaryPrimitives.ReadUInt16BigEndian(data[p..]);
        p += 2;
        if (extensionsEnd > helloEnd)
        {
            return null;
        }

        while (p + 4 <= extensionsEnd)
        {
            int type = BinaryPrimitives.ReadUInt16BigEndian(data[p..]);
            int end = p + 4 + BinaryPrimitives.ReadUInt16BigEndian(data[(p + 2)..]);
            if (end > extensionsEnd)
            {
                return null;
            }

            if (type == 0)
            {
                int q = p + 4;
                if (q + 2 > end || q + 2 + BinaryPrimitives.ReadUInt16BigEndian(data[q..]) != end)
                {
                    return null;
                }

                q += 2;
                while (q + 3 <= end)
                {
                    int nameType = data[q];
                    int length = BinaryPrimitives.ReadUInt16BigEndian(data[(q + 1)..]);
                    if (q + 3 + length > end)
                    {
                        return null;
                    }

                    if (nameType == 0)
                    {
                        return length == 0 ? null : (q + 3, length);
                    }

                    q += 3 + length;
                }

                return null;
            }

            p = end;
        }

        return null;
    }

    private static bool Vector(ReadOnlySpan<byte> data, ref int p, int end, int lengthBytes)
    {
        if (p + lengthBytes > end)
        {
            return false;
        }

        int length = lengthBytes == 1 ? data[p] : BinaryPrimitives.ReadUInt16BigEndian(data[p..]);
        p += lengthBytes + length;
        return p <= end;
    }
}
