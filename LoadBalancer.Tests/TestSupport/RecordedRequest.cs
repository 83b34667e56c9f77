using System.Text;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>One request exactly as a <see cref="RecordingBackend"/> received it: head bytes and raw (still framed) body bytes.</summary>
public sealed record RecordedRequest(byte[] HeadBytes, byte[] BodyBytes)
{
    public string Head => Encoding.ASCII.GetString(HeadBytes);

    public string RequestLine => Head[..Head.IndexOf("\r\n", StringComparison.Ordinal)];

    /// <summary>Every header line (name and value as sent), in order.</summary>
    public IReadOnlyList<(string Name, string Value)> Headers
        => Head.Split("\r\n").Skip(1).Where(l => l.Length > 0).Select(l => (l[..l.IndexOf(':')], l[(l.IndexOf(':') + 1)..].Trim())).ToList();

    public IEnumerable<string> Values(string name)
        => Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    public byte[] Raw => [.. HeadBytes, .. BodyBytes];
}
