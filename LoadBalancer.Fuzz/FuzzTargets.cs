using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Fuzz.Targets;

namespace LoadBalancer.Fuzz;

/// <summary>One entry per parser lb exposes to hostile (or hand-written) bytes; the name is the corpus folder.</summary>
internal static class FuzzTargets
{
    private static readonly Dictionary<string, FuzzTarget> Targets = new(StringComparer.Ordinal)
    {
        ["http-request"] = RequestHeadTarget.Run,
        ["http-request-diff"] = RequestDifferentialTarget.Run,
        ["http-response"] = ResponseHeadTarget.Run,
        ["chunked"] = ChunkedTarget.Run,
        ["proxy-protocol"] = ProxyProtocolTarget.Run,
        ["tls-client-hello"] = TlsClientHelloTarget.Run,
        ["config"] = ConfigTarget.Run,
        ["hpack"] = HpackTarget.Run,
        ["http2-frames"] = Http2FramesTarget.Run,
        ["http2-response"] = Http2ResponseTarget.Run,
        ["keys-file-line"] = KeysFileLineTarget.Run,
        ["toml-value"] = TomlValueTarget.Run,
    };

    public static IEnumerable<string> Names => Targets.Keys;

    public static bool TryGet(string name, [NotNullWhen(true)] out FuzzTarget? target) => Targets.TryGetValue(name, out target);
}
