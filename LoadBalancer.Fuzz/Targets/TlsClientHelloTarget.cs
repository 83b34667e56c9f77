using System.Buffers.Binary;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Fuzz.Reference;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// TlsClientHello.TryReadServerName (the SNI peek). Properties: a Found name lies inside the first record; no
/// allocation; every split point gives the whole-input outcome; when the strict reference finds a name lb finds the
/// same bytes; and a ClientHello encoded around a name taken from the input yields exactly that name.
/// </summary>
internal static class TlsClientHelloTarget
{
    private static readonly byte[] Hello = new byte[80 * 1024];

    public static void Run(ReadOnlySpan<byte> data)
    {
        var status = TlsClientHello.TryReadServerName(data, out int start, out int length);
        if (status == TlsClientHello.Status.Found)
        {
            int recordEnd = 5 + BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
            Check.That(start >= 9 && length >= 0 && start + length <= recordEnd && recordEnd <= data.Length, $"name {start}+{length} outside the record");
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var again = TlsClientHello.TryReadServerName(data, out int againStart, out int againLength);
        Check.Allocated(before, 0, "TlsClientHello.TryReadServerName");
        Check.That((again, againStart, againLength) == (status, start, length), "the same input read twice differs");

        foreach (int k in HeadFacts.SplitPoints(Math.Min(data.Length, 5 + 65535)))
        {
            var part = TlsClientHello.TryReadServerName(data[..k], out int partStart, out int partLength);
            Check.That(part == TlsClientHello.Status.Incomplete || (part, partStart, partLength) == (status, start, length),
                $"split at {k}: prefix gives {part} {partStart}+{partLength}, whole input {status} {start}+{length}");
        }

        if (StrictClientHello.ServerName(data) is { } reference)
        {
            Check.That(status == TlsClientHello.Status.Found && (start, length) == reference,
                $"the strict reference finds the name at {reference}, lb says {status} {start}+{length}");
        }

        RoundTrip(data);
    }

    /// <summary>Encodes a ClientHello whose SNI is a prefix of the input, with other extensions and ids sized by it.</summary>
    private static void RoundTrip(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            return;
        }

        int nameLength = Math.Min(data.Length, 1 + (data[0] % 255));
        ReadOnlySpan<byte> name = data[..nameLength];
        int sessionId = data.Length > 1 ? data[1] % 33 : 0;
        int padding = data.Length > 2 ? data[2] * 3 : 0;
        int otherNameFirst = data.Length > 3 && (data[3] & 1) != 0 ? 1 : 0;

        var w = new Writer(Hello);
        w.U8(22);
        w.U8(3);
        w.U8(1);
        int record = w.Reserve(2);
        w.U8(1);
        int message = w.Reserve(3);
        w.U8(3);
        w.U8(3);
        w.Fill(32, 0xAB);
        w.U8(sessionId);
        w.Fill(sessionId, 0x11);
        w.U16(4);
        w.U16(0x1301);
        w.U16(0x1302);
        w.U8(1);
        w.U8(0);
        int extensions = w.Reserve(2);
        w.U16(0x0015); // padding (RFC 7685) before server_name: the peek must skip it
        w.U16(padding);
        w.Fill(padding, 0);
        w.U16(0);
        int sni = w.Reserve(2);
        int list = w.Reserve(2);
        if (otherNameFirst == 1)
        {
            w.U8(7); // an unknown name_type, skipped
            w.U16(2);
            w.Fill(2, 0x61);
        }

        w.U8(0);
        w.U16(nameLength);
        int nameStart = w.Position;
        w.Bytes(name);
        w.Patch16(list, w.Position - list - 2);
        w.Patch16(sni, w.Position - sni - 2);
        w.U16(0x002B); // supported_versions after it
        w.U16(3);
        w.U8(2);
        w.U16(0x0304);
        w.Patch16(extensions, w.Position - extensions - 2);
        w.Patch24(message, w.Position - message - 3);
        w.Patch16(record, w.Position - record - 2);

        var hello = Hello.AsSpan(0, w.Position);
        var status = TlsClientHello.TryReadServerName(hello, out int start, out int length);
        Check.That(status == TlsClientHello.Status.Found && start == nameStart && length == nameLength,
            $"encoded hello with a {nameLength}-byte name at {nameStart} reads as {status} {start}+{length}");
        Check.That(StrictClientHello.ServerName(hello) == (nameStart, nameLength), "the strict reference misreads the encoded hello");
    }

    private ref struct Writer(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int Position { get; private set; }

        public void U8(int value) => _buffer[Position++] = (byte)value;

        public void U16(int value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], (ushort)value);
            Position += 2;
        }

        public void Fill(int count, byte value)
        {
            _buffer.Slice(Position, count).Fill(value);
            Position += count;
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer[Position..]);
            Position += bytes.Length;
        }

        public int Reserve(int count)
        {
            int at = Position;
            Position += count;
            return at;
        }

        public readonly void Patch16(int at, int value) => BinaryPrimitives.WriteUInt16BigEndian(_buffer[at..], (ushort)value);

        public readonly void Patch24(int at, int value)
        {
            _buffer[at] = (byte)(value >> 16);
            _buffer[at + 1] = (byte)(value >> 8);
            _buffer[at + 2] = (byte)value;
        }
    }
}
