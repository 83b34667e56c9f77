using System.Text;
using BenchmarkDotNet.Attributes;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Bench;

/// <summary>
/// lb's own answers: the constant form (the 429 of a flood: a cached array, no encoding) and the encoded forms (a 421
/// naming its host, a 401 with its challenge, into a pooled-size buffer). Allocated must read 0 B for all three.
/// </summary>
[MemoryDiagnoser]
public class LocalReplyBench
{
    private static readonly byte[] Host = Encoding.ASCII.GetBytes("nobody.example.com:8080");
    private readonly byte[] _buffer = new byte[Http1ReplyEncoder.MaxLength];

    [Benchmark(Baseline = true)]
    public int RateLimitedConstant() => Http1ReplyEncoder.Constant(LocalReplies.RateLimited, json: false, close: false).Length;

    [Benchmark]
    public int UnknownTenantEncoded() => Http1ReplyEncoder.Write(new LocalReply(LocalReplies.UnknownHost, Host), json: true, close: true, _buffer);

    [Benchmark]
    public int MissingKeyWithChallenge() => Http1ReplyEncoder.Write(new LocalReply(LocalReplies.MissingKey, default, "X-Api-Key"), json: false, close: false, _buffer);
}
