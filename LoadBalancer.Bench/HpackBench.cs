using BenchmarkDotNet.Attributes;
using LoadBalancer.Core.Http2.Hpack;

namespace LoadBalancer.Bench;

/// <summary>
/// HPACK per request (issue 16): decoding a browser-like request block (RFC 7541 C.4's three requests, Huffman, with the
/// dynamic table in use) and encoding a small response (:status, content-type, content-length, date, server).
/// Allocated must read 0 B: the decoder writes into the caller's buffers, the encoder into the frame buffer.
/// </summary>
[MemoryDiagnoser]
public class HpackBench
{
    private static readonly byte[][] Requests =
    [
        Convert.FromHexString("828684418cf1e3c2e5f23a6ba0ab90f4ff"),
        Convert.FromHexString("828684be5886a8eb10649cbf"),
        Convert.FromHexString("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"),
    ];

    private readonly byte[] _output = new byte[16 * 1024];
    private readonly HpackField[] _fields = new HpackField[128];
    private readonly byte[] _block = new byte[1024];
    private HpackDecoder _decoder = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _decoder = new HpackDecoder(4096, 16 * 1024, 128);
        foreach (var block in Requests)
        {
            _decoder.Decode(block, _output, _fields, out _);
        }
    }

    [Benchmark(Baseline = true)]
    public int DecodeRequest()
    {
        // The third block only references the dynamic table the first two built, so it decodes the same each time.
        _decoder.Decode(Requests[2], _output, _fields, out var count);
        return count + (_next++ & 1);
    }

    [Benchmark]
    public int EncodeResponse()
    {
        var w = HpackEncoder.Encode(":status"u8, "200"u8, false, _block);
        w += HpackEncoder.Encode("content-type"u8, "application/json"u8, false, _block.AsSpan(w));
        w += HpackEncoder.Encode("content-length"u8, "1234"u8, false, _block.AsSpan(w));
        w += HpackEncoder.Encode("date"u8, "Thu, 03 Dec 2026 07:30:00 GMT"u8, false, _block.AsSpan(w));
        w += HpackEncoder.Encode("server"u8, "nginx"u8, false, _block.AsSpan(w));
        return w;
    }
}
