using System.Text;
using BenchmarkDotNet.Attributes;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Bench;

/// <summary>Head parsing and chunked framing per message: the Allocated column must read 0 B.</summary>
[MemoryDiagnoser]
public class HeadParserBench
{
    private static readonly byte[] BrowserRequest = Encoding.ASCII.GetBytes(
        "GET /products/42/reviews?page=2&sort=recent HTTP/1.1\r\n" +
        "Host: shop.example.com\r\n" +
        "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
        "Accept-Language: en-US,en;q=0.5\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Referer: https://shop.example.com/products/42\r\n" +
        "Connection: keep-alive\r\n" +
        "Cookie: session=3f9a7c1e5b2d4f60a8e1c3b5d7f90213; theme=dark; consent=necessary,analytics; _ga=GA1.2.1234567890.1700000000\r\n" +
        "Upgrade-Insecure-Requests: 1\r\n" +
        "Sec-Fetch-Dest: document\r\n" +
        "Sec-Fetch-Mode: navigate\r\n" +
        "Sec-Fetch-Site: same-origin\r\n" +
        "Sec-Fetch-User: ?1\r\n" +
        "Priority: u=0, i\r\n" +
        "\r\n");

    private static readonly byte[] ApiRequest = Encoding.ASCII.GetBytes(
        "POST /api/v1/orders HTTP/1.1\r\n" +
        "Host: api.example.com\r\n" +
        "Content-Type: application/json\r\n" +
        "Content-Length: 128\r\n" +
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo\r\n" +
        "\r\n");

    private static readonly byte[] Response = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\n" +
        "Date: Tue, 11 Jun 2024 10:00:00 GMT\r\n" +
        "Content-Type: application/json; charset=utf-8\r\n" +
        "Content-Length: 1024\r\n" +
        "Cache-Control: no-store\r\n" +
        "\r\n");

    private static readonly byte[] ChunkedBody = BuildChunkedBody(chunks: 16, chunkSize: 1024);

    private readonly HeaderLine[] _headers = new HeaderLine[HttpLimits.Default.MaxHeaders];

    [Benchmark]
    public int ParseBrowserRequest()
    {
        HttpMessageHead head = default;
        Http1HeadParser.TryParseRequest(BrowserRequest, HttpLimits.Default, ref head, _headers);
        return head.HeadLength;
    }

    [Benchmark]
    public int ParseApiRequest()
    {
        HttpMessageHead head = default;
        Http1HeadParser.TryParseRequest(ApiRequest, HttpLimits.Default, ref head, _headers);
        return head.HeadLength;
    }

    [Benchmark]
    public int ParseResponse()
    {
        HttpMessageHead head = default;
        Http1HeadParser.TryParseResponse(Response, HttpLimits.Default, ref head, _headers);
        return head.HeadLength;
    }

    /// <summary>16 x 1 KiB chunks with a trailer, in one piece: the cost is the size lines, not the data.</summary>
    [Benchmark]
    public int DecodeChunkedBody()
    {
        var decoder = default(ChunkedDecoder);
        decoder.Advance(ChunkedBody, out int consumed);
        return consumed;
    }

    private static byte[] BuildChunkedBody(int chunks, int chunkSize)
    {
        var body = new List<byte>();
        for (int i = 0; i < chunks; i++)
        {
            body.AddRange(Encoding.ASCII.GetBytes($"{chunkSize:x}\r\n"));
            body.AddRange(new byte[chunkSize]);
            body.AddRange("\r\n"u8.ToArray());
        }

        body.AddRange("0\r\nX-Checksum: 1234\r\n\r\n"u8.ToArray());
        return body.ToArray();
    }
}
