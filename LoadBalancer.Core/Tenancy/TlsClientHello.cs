using System.Buffers.Binary;

namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// Reads the server name (SNI, RFC 6066 section 3) from the first TLS record of a connection without terminating
/// TLS: lb only peeks, and the record is forwarded unchanged. Allocation-free; offsets point into the input.
/// </summary>
public static class TlsClientHello
{
    public enum Status
    {
        /// <summary>Not enough bytes yet for the first record.</summary>
        Incomplete,

        /// <summary>A ClientHello with a host_name entry; the name's offset and length are set.</summary>
        Found,

        /// <summary>Not TLS, not a ClientHello, no SNI, or a ClientHello spread over several records: use the default tenant.</summary>
        None,
    }

    private const byte HandshakeRecord = 22;
    private const byte ClientHelloMessage = 1;

    public static Status TryReadServerName(ReadOnlySpan<byte> data, out int nameStart, out int nameLength)
    {
        nameStart = 0;
        nameLength = 0;
        if (data.Length < 5)
        {
            return data.Length > 0 && data[0] != HandshakeRecord ? Status.None : Status.Incomplete;
        }

        if (data[0] != HandshakeRecord || data[1] != 3)
        {
            return Status.None;
        }

        var recordLength = BinaryPrimitives.ReadUInt16BigEndian(data[3..5]);
        if (data.Length < 5 + recordLength)
        {
            return Status.Incomplete;
        }

        var record = data.Slice(5, recordLength);
        if (record.Length < 4 || record[0] != ClientHelloMessage)
        {
            return Status.None;
        }

        var messageLength = (record[1] << 16) | (record[2] << 8) | record[3];
        if (messageLength > record.Length - 4)
        {
            return Status.None;
        }

        var hello = record.Slice(4, messageLength);
        var offset = 2 + 32; // legacy_version, random
        if (!Skip8(hello, ref offset) || !Skip16(hello, ref offset) || !Skip8(hello, ref offset))
        {
            return Status.None; // session id, cipher suites, compression methods
        }

        if (offset + 2 > hello.Length)
        {
            return Status.None;
        }

        var extensionsEnd = offset + 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[offset..]);
        offset += 2;
        if (extensionsEnd > hello.Length)
        {
            return Status.None;
        }

        while (offset + 4 <= extensionsEnd)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(hello[offset..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(hello[(offset + 2)..]);
            var body = offset + 4;
            if (body + length > extensionsEnd)
            {
                return Status.None;
            }

            if (type == 0)
            {
                return ReadHostName(hello.Slice(body, length), 5 + 4 + body, out nameStart, out nameLength);
            }

            offset = body + length;
        }

        return Status.None;
    }

    private static Status ReadHostName(ReadOnlySpan<byte> extension, int baseOffset, out int nameStart, out int nameLength)
    {
        nameStart = 0;
        nameLength = 0;
        if (extension.Length < 2)
        {
            return Status.None;
        }

        var listEnd = Math.Min(extension.Length, 2 + BinaryPrimitives.ReadUInt16BigEndian(extension));
        var offset = 2;
        while (offset + 3 <= listEnd)
        {
            var nameType = extension[offset];
            var length = BinaryPrimitives.ReadUInt16BigEndian(extension[(offset + 1)..]);
            if (offset + 3 + length > listEnd)
            {
                return Status.None;
            }

            if (nameType == 0)
            {
                nameStart = baseOffset + offset + 3;
                nameLength = length;
                return Status.Found;
            }

            offset += 3 + length;
        }

        return Status.None;
    }

    private static bool Skip8(ReadOnlySpan<byte> data, ref int offset)
    {
        if (offset + 1 > data.Length)
        {
            return false;
        }

        offset += 1 + data[offset];
        return offset <= data.Length;
    }

    private static bool Skip16(ReadOnlySpan<byte> data, ref int offset)
    {
        if (offset + 2 > data.Length)
        {
            return false;
        }

        offset += 2 + BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
        return offset <= data.Length;
    }
}
