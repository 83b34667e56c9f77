using LoadBalancer.Core.Http2.Hpack;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// HpackDecoder, HpackEncoder and HpackHuffman (issue 16). The input is 1 to 4 header blocks decoded in turn on one
/// connection's decoder (a small table, so eviction is reached). Properties: fields lie inside the output and within
/// the list and field limits; a refused list returns no fields; the table never exceeds its capacity; decoding stops
/// at the first compression error; a second decoder fed the same blocks agrees exactly and allocates nothing; every
/// accepted list re-encoded by lb's encoder decodes to the same fields. And for Huffman, a string decodes exactly when
/// it is the one canonical encoding of its result (RFC 7541 section 5.2 leaves no other), so Encode(Decode(x)) == x.
/// </summary>
internal static class HpackTarget
{
    private const int TableCapacity = 256;
    private const int ListLimit = 4096;
    private const int FieldLimit = 64;

    private static readonly byte[] Output = new byte[ListLimit];
    private static readonly byte[] OutputAgain = new byte[ListLimit];
    private static readonly byte[] Encoded = new byte[64 * 1024];
    private static readonly byte[] RoundTripOutput = new byte[64 * 1024];
    private static readonly byte[] Huffman = new byte[64 * 1024];
    private static readonly HpackField[] Fields = new HpackField[FieldLimit];
    private static readonly HpackField[] FieldsAgain = new HpackField[FieldLimit];
    private static readonly HpackField[] RoundTripFields = new HpackField[1024];

    public static void Run(ReadOnlySpan<byte> data)
    {
        HuffmanIsCanonical(data);
        if (data.IsEmpty)
        {
            return;
        }

        var blocks = 1 + (data[0] & 3);
        var body = data[1..];
        var decoder = new HpackDecoder(TableCapacity, ListLimit, FieldLimit);
        var again = new HpackDecoder(TableCapacity, ListLimit, FieldLimit);
        for (var b = 0; b < blocks; b++)
        {
            var start = body.Length * b / blocks;
            var end = body.Length * (b + 1) / blocks;
            var block = body[start..end];

            var status = decoder.Decode(block, Output, Fields, out var count);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var statusAgain = again.Decode(block, OutputAgain, FieldsAgain, out var countAgain);
            Check.Allocated(before, 0, "HpackDecoder.Decode");
            Check.That(status == statusAgain && count == countAgain, $"block {b}: two decoders differ: {status}/{count} vs {statusAgain}/{countAgain}");
            Check.That(decoder.TableSize <= TableCapacity && decoder.TableSize == again.TableSize, $"table size {decoder.TableSize}");
            Check.That(status == HpackStatus.Ok || count == 0, $"{status} with {count} fields");

            long listSize = 0;
            for (var i = 0; i < count; i++)
            {
                var f = Fields[i];
                Check.That(f.NameStart >= 0 && f.ValueStart >= f.NameStart + f.NameLength && f.ValueStart + f.ValueLength <= Output.Length, $"field {i} out of the output");
                Check.That(f == FieldsAgain[i] && f.Name(Output).SequenceEqual(f.Name(OutputAgain)) && f.Value(Output).SequenceEqual(f.Value(OutputAgain)), $"field {i} differs between decoders");
                listSize += f.NameLength + f.ValueLength + 32;
            }

            Check.That(listSize <= ListLimit, $"an accepted list of {listSize} bytes");
            if (status == HpackStatus.CompressionError)
            {
                return;
            }

            if (status == HpackStatus.Ok)
            {
                RoundTrip(count);
            }
        }
    }

    private static void RoundTrip(int count)
    {
        var encoder = new HpackEncoder();
        var w = encoder.BeginBlock(Encoded);
        for (var i = 0; i < count; i++)
        {
            var f = Fields[i];
            var n = HpackEncoder.Encode(f.Name(Output), f.Value(Output), f.NeverIndexed, Encoded.AsSpan(w));
            Check.That(n > 0 && n <= HpackEncoder.MaxEncodedLength(f.NameLength, f.ValueLength), $"field {i} encoded in {n} bytes");
            w += n;
        }

        var fresh = new HpackDecoder(4096, RoundTripOutput.Length, RoundTripFields.Length);
        var status = fresh.Decode(Encoded.AsSpan(0, w), RoundTripOutput, RoundTripFields, out var decoded);
        Check.That(status == HpackStatus.Ok && decoded == count, $"re-encoded list decodes as {status} with {decoded} of {count} fields");
        Check.That(fresh.TableCount == 0, "lb's encoder added to the table");
        for (var i = 0; i < count; i++)
        {
            var f = Fields[i];
            var r = RoundTripFields[i];
            Check.That(f.NeverIndexed == r.NeverIndexed && f.Name(Output).SequenceEqual(r.Name(RoundTripOutput)) && f.Value(Output).SequenceEqual(r.Value(RoundTripOutput)),
                $"field {i} changed in a round trip: {Check.Show(f.Name(Output))} vs {Check.Show(r.Name(RoundTripOutput))}");
        }
    }

    private static void HuffmanIsCanonical(ReadOnlySpan<byte> data)
    {
        var length = HpackHuffman.Decode(data, Huffman);
        Check.That(length == HpackHuffman.DecodedLength(data), "Decode and DecodedLength disagree");
        if (length < 0)
        {
            Check.That(length == HpackHuffman.Malformed, $"Huffman status {length} with room for any result");
            return;
        }

        Check.That(HpackHuffman.EncodedLength(Huffman.AsSpan(0, length)) == data.Length, "re-encoded length differs");
        var w = HpackHuffman.Encode(Huffman.AsSpan(0, length), Encoded);
        Check.That(Encoded.AsSpan(0, w).SequenceEqual(data), $"Encode(Decode(x)) != x for {Check.Show(data)}");
    }
}
