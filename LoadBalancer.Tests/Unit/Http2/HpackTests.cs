using System.Text;
using LoadBalancer.Core.Http2.Hpack;

namespace LoadBalancer.Tests.Unit.Http2;

/// <summary>
/// HPACK (RFC 7541) without sockets: the Appendix C examples, Huffman both ways, the decoder's errors and limits (the
/// HPACK-bomb defence keeps the table in step), and a randomized round trip through lb's own encoder.
/// </summary>
[TestFixture]
public sealed class HpackTests
{
    private const int ListLimit = 16 * 1024;

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    private static HpackDecoder NewDecoder(int tableCapacity = 4096, int maxListSize = ListLimit, int maxFields = 128) =>
        new(tableCapacity, maxListSize, maxFields);

    private static (HpackStatus Status, List<(string Name, string Value, bool NeverIndexed)> Fields) Decode(HpackDecoder decoder, byte[] block)
    {
        var output = new byte[decoder.MaxListSize];
        var fields = new HpackField[decoder.MaxFields];
        var status = decoder.Decode(block, output, fields, out var count);
        var list = new List<(string, string, bool)>();
        for (var i = 0; i < count; i++)
        {
            list.Add((Encoding.Latin1.GetString(fields[i].Name(output)), Encoding.Latin1.GetString(fields[i].Value(output)), fields[i].NeverIndexed));
        }

        return (status, list);
    }

    private static string Show(List<(string Name, string Value, bool NeverIndexed)> fields)
    {
        var text = new StringBuilder();
        foreach (var (name, value, _) in fields)
        {
            text.Append(name).Append(": ").Append(value).Append('\n');
        }

        return text.ToString();
    }

    [TestCase(10, 5, "0a")]
    [TestCase(1337, 5, "1f9a0a")]
    [TestCase(42, 8, "2a")]
    public void Integers_AreTheAppendixC1Examples(int value, int prefix, string hex)
    {
        var buffer = new byte[8];
        var written = HpackInteger.Write(value, prefix, 0, buffer);
        Assert.That(Convert.ToHexString(buffer, 0, written).ToLowerInvariant(), Is.EqualTo(hex));

        var position = 0;
        Assert.That(HpackInteger.TryRead(Hex(hex), ref position, prefix, out var read), Is.EqualTo(1));
        Assert.That((read, position), Is.EqualTo((value, written)));
    }

    [Test]
    public void Integers_RefuseOverflowAndReportTruncation()
    {
        var position = 0;
        Assert.That(HpackInteger.TryRead(Hex("1fffffffffff0f"), ref position, 5, out _), Is.EqualTo(-1), "more than 2^24");
        position = 0;
        Assert.That(HpackInteger.TryRead(Hex("1f9a"), ref position, 5, out _), Is.EqualTo(0), "ends inside the integer");
        Assert.That(position, Is.EqualTo(0));
    }

    [TestCase("400a637573746f6d2d6b65790d637573746f6d2d686561646572", "custom-key", "custom-header", false, 55)] // C.2.1
    [TestCase("040c2f73616d706c652f70617468", ":path", "/sample/path", false, 0)] // C.2.2
    [TestCase("100870617373776f726406736563726574", "password", "secret", true, 0)] // C.2.3
    [TestCase("82", ":method", "GET", false, 0)] // C.2.4
    public void SingleFields_AreTheAppendixC2Examples(string hex, string name, string value, bool neverIndexed, int tableSize)
    {
        var decoder = NewDecoder();
        var (status, fields) = Decode(decoder, Hex(hex));
        Assert.That(status, Is.EqualTo(HpackStatus.Ok));
        Assert.That(fields, Is.EqualTo(new[] { (name, value, neverIndexed) }));
        Assert.That(decoder.TableSize, Is.EqualTo(tableSize));
    }

    private static readonly string[][] Requests =
    [
        [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
        [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"],
        [":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com", "custom-key", "custom-value"],
    ];

    private static readonly string[][] Responses =
    [
        [":status", "302", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com"],
        [":status", "307", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com"],
        [":status", "200", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:22 GMT", "location", "https://www.example.com",
         "content-encoding", "gzip", "set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
    ];

    // Appendix C.3 to C.6: three header blocks on one connection each, and the dynamic table size after each block.
    private static IEnumerable<TestCaseData> Sequences()
    {
        yield return new TestCaseData("C.3 requests", 4096, Requests, new[]
        {
            "828684410f7777772e6578616d706c652e636f6d",
            "828684be58086e6f2d6361636865",
            "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
        }, new[] { 57, 110, 164 });
        yield return new TestCaseData("C.4 requests, Huffman", 4096, Requests, new[]
        {
            "828684418cf1e3c2e5f23a6ba0ab90f4ff",
            "828684be5886a8eb10649cbf",
            "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
        }, new[] { 57, 110, 164 });
        yield return new TestCaseData("C.5 responses, 256-byte table", 256, Responses, new[]
        {
            "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
            "4803333037c1c0bf",
            "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
        }, new[] { 222, 222, 215 });
        yield return new TestCaseData("C.6 responses, 256-byte table, Huffman", 256, Responses, new[]
        {
            "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
            "4883640effc1c0bf",
            "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        }, new[] { 222, 222, 215 });
    }

    [TestCaseSource(nameof(Sequences))]
    public void Sequences_AreTheAppendixCExamples(string example, int tableCapacity, string[][] lists, string[] blocks, int[] tableSizes)
    {
        var decoder = NewDecoder(tableCapacity);
        for (var i = 0; i < blocks.Length; i++)
        {
            var (status, fields) = Decode(decoder, Hex(blocks[i]));
            Assert.That(status, Is.EqualTo(HpackStatus.Ok), $"{example} block {i + 1}");
            var expected = new List<(string, string, bool)>();
            for (var k = 0; k < lists[i].Length; k += 2)
            {
                expected.Add((lists[i][k], lists[i][k + 1], false));
            }

            Assert.That(fields, Is.EqualTo(expected), $"{example} block {i + 1}:\n{Show(fields)}");
            Assert.That(decoder.TableSize, Is.EqualTo(tableSizes[i]), $"{example} table size after block {i + 1}");
        }
    }

    [Test]
    public void Huffman_EncodesTheAppendixExampleAndEveryByteRoundTrips()
    {
        var buffer = new byte[4096];
        var written = HpackHuffman.Encode("www.example.com"u8, buffer);
        Assert.That(Convert.ToHexString(buffer, 0, written).ToLowerInvariant(), Is.EqualTo("f1e3c2e5f23a6ba0ab90f4ff"));
        Assert.That(HpackHuffman.EncodedLength("www.example.com"u8), Is.EqualTo(written));

        var all = new byte[256];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = (byte)i;
        }

        written = HpackHuffman.Encode(all, buffer);
        var decoded = new byte[256];
        Assert.That(HpackHuffman.Decode(buffer.AsSpan(0, written), decoded), Is.EqualTo(256));
        Assert.That(decoded, Is.EqualTo(all));
        Assert.That(HpackHuffman.DecodedLength(buffer.AsSpan(0, written)), Is.EqualTo(256));
        Assert.That(HpackHuffman.Decode(buffer.AsSpan(0, written), decoded.AsSpan(0, 255)), Is.EqualTo(HpackHuffman.NoRoom));
    }

    [TestCase("ffffffff", Description = "30 ones: the EOS symbol")]
    [TestCase("f1e3c2e5f23a6ba0ab90f4ffff", Description = "padding of more than 7 bits")]
    [TestCase("f1e3c2e5f23a6ba0ab90f4fe", Description = "padding that is not all ones")]
    public void Huffman_RefusesWhatRfc7541Section52Forbids(string hex)
    {
        Assert.That(HpackHuffman.Decode(Hex(hex), new byte[64]), Is.EqualTo(HpackHuffman.Malformed));
        Assert.That(HpackHuffman.DecodedLength(Hex(hex)), Is.EqualTo(HpackHuffman.Malformed));
    }

    [TestCase("80", Description = "index 0")]
    [TestCase("be", Description = "dynamic index past an empty table")]
    [TestCase("ff80ffffff7f", Description = "index past 2^24")]
    [TestCase("3fe21f", Description = "size update above SETTINGS_HEADER_TABLE_SIZE")]
    [TestCase("8220", Description = "size update after a field")]
    [TestCase("400a637573746f6d", Description = "name runs past the block")]
    [TestCase("0085f2b24a87", Description = "value missing")]
    [TestCase("4083ffffff0161", Description = "EOS inside a Huffman name")]
    [TestCase("1f", Description = "ends inside an integer")]
    [TestCase("8282be", Description = "fields before the error (fuzz finding: they were returned)")]
    public void Decoder_ReportsCompressionErrors(string hex)
    {
        var (status, fields) = Decode(NewDecoder(), Hex(hex));
        Assert.That(status, Is.EqualTo(HpackStatus.CompressionError));
        Assert.That(fields, Is.Empty);
    }

    [Test]
    public void Decoder_AcceptsSizeUpdatesAtTheStartAndEvicts()
    {
        var decoder = NewDecoder();
        Assert.That(Decode(decoder, Hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572")).Status, Is.EqualTo(HpackStatus.Ok));
        Assert.That(decoder.TableCount, Is.EqualTo(1));

        // Two updates (down to 0, then back up) before the first field empty the table, so index 62 no longer exists.
        var (status, fields) = Decode(decoder, Hex("203fe11f82"));
        Assert.That(status, Is.EqualTo(HpackStatus.Ok));
        Assert.That(fields, Is.EqualTo(new[] { (":method", "GET", false) }));
        Assert.That(decoder.TableCount, Is.EqualTo(0));
        Assert.That(Decode(decoder, Hex("be")).Status, Is.EqualTo(HpackStatus.CompressionError));
    }

    [Test]
    public void Decoder_BombIsRefusedByDecodedSizeAndTheTableStaysInStep()
    {
        // One 4,000-byte value enters the table, then 1,000 one-byte references to it ask for 4 MB of decoded headers.
        var decoder = NewDecoder(maxListSize: 8 * 1024);
        var block = new List<byte> { 0x40, 0x01, (byte)'x' };
        var value = new byte[4000];
        Array.Fill(value, (byte)'a');
        var length = new byte[8];
        var n = HpackInteger.Write(value.Length, 7, 0, length);
        block.AddRange(length.AsSpan(0, n).ToArray());
        block.AddRange(value);
        for (var i = 0; i < 1000; i++)
        {
            block.Add(0xbe);
        }

        block.AddRange(Hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572"));
        var (status, fields) = Decode(decoder, block.ToArray());
        Assert.That(status, Is.EqualTo(HpackStatus.ListTooLarge));
        Assert.That(fields, Is.Empty, "a refused list returns no fields");

        // The literal after the flood still entered the table: the next block's index 62 is custom-key.
        var (next, nextFields) = Decode(decoder, Hex("be"));
        Assert.That(next, Is.EqualTo(HpackStatus.Ok));
        Assert.That(nextFields, Is.EqualTo(new[] { ("custom-key", "custom-header", false) }));
    }

    [Test]
    public void Decoder_CapsTheNumberOfFields()
    {
        var decoder = NewDecoder(maxFields: 10);
        var block = new byte[11];
        Array.Fill(block, (byte)0x82);
        Assert.That(Decode(decoder, block).Status, Is.EqualTo(HpackStatus.ListTooLarge));
        Assert.That(Decode(decoder, block.AsSpan(0, 10).ToArray()).Status, Is.EqualTo(HpackStatus.Ok));
    }

    [Test]
    public void Decoder_IndexedLiteralLargerThanTheTableEmptiesIt()
    {
        var decoder = NewDecoder(tableCapacity: 64);
        Assert.That(Decode(decoder, Hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572")).Status, Is.EqualTo(HpackStatus.Ok));
        Assert.That(decoder.TableCount, Is.EqualTo(1));
        var big = new List<byte> { 0x40, 0x01, (byte)'y', 0x7f, 0x21 }; // 0x7f 0x21: a 160-byte value
        big.AddRange(Enumerable.Repeat((byte)'b', 160));
        var (status, fields) = Decode(decoder, big.ToArray());
        Assert.That(status, Is.EqualTo(HpackStatus.Ok));
        Assert.That(fields.Single().Value, Has.Length.EqualTo(160));
        Assert.That((decoder.TableCount, decoder.TableSize), Is.EqualTo((0, 0)));
    }

    [Test]
    public void Encoder_UsesTheStaticTableAndHuffmanAndNeverIndexes()
    {
        var buffer = new byte[256];
        var w = 0;
        w += HpackEncoder.Encode(":method"u8, "GET"u8, false, buffer.AsSpan(w));
        w += HpackEncoder.Encode(":authority"u8, "www.example.com"u8, false, buffer.AsSpan(w));
        Assert.That(Convert.ToHexString(buffer, 0, w).ToLowerInvariant(), Is.EqualTo("82018cf1e3c2e5f23a6ba0ab90f4ff"),
            "indexed :method GET, then :authority as a literal without indexing, name 1, Huffman value");

        w = HpackEncoder.Encode("authorization"u8, "secret"u8, true, buffer);
        var decoder = NewDecoder();
        var (status, fields) = Decode(decoder, buffer.AsSpan(0, w).ToArray());
        Assert.That(status, Is.EqualTo(HpackStatus.Ok));
        Assert.That(fields, Is.EqualTo(new[] { ("authorization", "secret", true) }));
        Assert.That(decoder.TableCount, Is.EqualTo(0), "lb's encoder never adds to the peer's table");

        Assert.That(HpackEncoder.Encode("x-long"u8, new byte[100], false, buffer.AsSpan(0, 50)), Is.EqualTo(-1));
    }

    [Test]
    public void Encoder_SendsASizeUpdateAfterThePeerLowersItsTable()
    {
        var encoder = new HpackEncoder();
        var buffer = new byte[16];
        Assert.That(encoder.BeginBlock(buffer), Is.EqualTo(0));
        encoder.PeerTableSizeChanged(1024);
        Assert.That(encoder.BeginBlock(buffer), Is.EqualTo(1));
        Assert.That(buffer[0], Is.EqualTo(0x20));
        Assert.That(encoder.BeginBlock(buffer), Is.EqualTo(0), "once");
    }

    [Test]
    public void RandomHeaderLists_RoundTripThroughEncoderAndDecoder()
    {
        var random = new Random(7541);
        var names = new[] { ":method", ":path", "content-type", "accept-encoding", "x-tenant", "cookie", "user-agent", "grpc-timeout" };
        var encoder = new HpackEncoder();
        var decoder = NewDecoder();
        var block = new byte[64 * 1024];
        for (var round = 0; round < 500; round++)
        {
            var expected = new List<(string, string, bool)>();
            var w = encoder.BeginBlock(block);
            var count = random.Next(0, 20);
            for (var i = 0; i < count; i++)
            {
                var name = random.Next(3) == 0 ? RandomName(random) : names[random.Next(names.Length)];
                var value = new byte[random.Next(0, 300)];
                for (var k = 0; k < value.Length; k++)
                {
                    value[k] = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)random.Next(0x20, 0x7f);
                }

                if (random.Next(10) == 0)
                {
                    value = random.Next(2) == 0 ? "GET"u8.ToArray() : "gzip, deflate"u8.ToArray();
                }

                var neverIndexed = random.Next(8) == 0;
                var n = HpackEncoder.Encode(Encoding.Latin1.GetBytes(name), value, neverIndexed, block.AsSpan(w));
                Assert.That(n, Is.GreaterThan(0));
                Assert.That(n, Is.LessThanOrEqualTo(HpackEncoder.MaxEncodedLength(name.Length, value.Length)));
                w += n;
                expected.Add((name, Encoding.Latin1.GetString(value), neverIndexed));
            }

            if (round % 50 == 0)
            {
                encoder.PeerTableSizeChanged(0);
            }

            var (status, fields) = Decode(decoder, block.AsSpan(0, w).ToArray());
            Assert.That(status, Is.EqualTo(HpackStatus.Ok), $"round {round}");
            Assert.That(fields, Is.EqualTo(expected), $"round {round}");
        }
    }

    private static string RandomName(Random random)
    {
        var chars = new char[random.Next(1, 40)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = "abcdefghijklmnopqrstuvwxyz0123456789-_"[random.Next(38)];
        }

        return new string(chars);
    }

    [Test]
    public void DecodingAndEncoding_AllocateNothing()
    {
        var decoder = NewDecoder();
        var output = new byte[ListLimit];
        var fields = new HpackField[128];
        var blocks = new[] { Hex("828684418cf1e3c2e5f23a6ba0ab90f4ff"), Hex("828684be5886a8eb10649cbf"), Hex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf") };
        var encoded = new byte[512];
        decoder.Decode(blocks[0], output, fields, out _);
        HpackEncoder.Encode("content-type"u8, "application/grpc"u8, false, encoded);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            decoder.Decode(blocks[i % 3], output, fields, out _);
            HpackEncoder.Encode("content-type"u8, "application/grpc"u8, false, encoded);
            HpackEncoder.Encode(":status"u8, "200"u8, false, encoded);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
