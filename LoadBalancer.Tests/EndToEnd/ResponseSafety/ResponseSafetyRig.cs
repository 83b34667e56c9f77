using System.Globalization;
using System.Text.RegularExpressions;
using LoadBalancer.Tests.EndToEnd.Conformance;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.ResponseSafety;

/// <summary>
/// lb with two tenants, a.test and b.test, sharing one pool whose only backend is a <see cref="DesyncBackend"/>: every
/// request of either tenant goes over the same backend connections, so a byte left on one would reach the other.
/// </summary>
public sealed partial class ResponseSafetyRig : IAsyncDisposable
{
    private ResponseSafetyRig(DesyncBackend backend, TestLb lb, TestAdmin admin)
    {
        Backend = backend;
        Lb = lb;
        Admin = admin;
    }

    public DesyncBackend Backend { get; }

    public TestLb Lb { get; }

    public TestAdmin Admin { get; }

    public static async Task<ResponseSafetyRig> StartAsync(DesyncBackend.Script script, string listenerExtra = "")
    {
        var backend = DesyncBackend.Start(script);
        var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"
            {{listenerExtra}}

            [[tenants]]
            name = "a"
            match = ["a.test"]
            pool = "shared"

            [[tenants]]
            name = "b"
            match = ["b.test"]
            pool = "shared"

            [[pools]]
            name = "shared"
            backends = [ { address = "{{backend.Address}}" } ]
            """);
        return new ResponseSafetyRig(backend, lb, TestAdmin.Start(lb));
    }

    public static string Get(string host, string path, string method = "GET") => $"{method} {path} HTTP/1.1\r\nHost: {host}\r\n\r\n";

    /// <summary>
    /// Sends a plain GET for <paramref name="host"/> and checks the answer is the backend's fresh one for exactly that
    /// request: no stale, shifted or smuggled bytes.
    /// </summary>
    public static async Task ExpectFreshAnswerAsync(RawHttpConnection client, string host, string path, CancellationToken cancellationToken)
    {
        await client.SendAsync(Get(host, path), cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response, Is.Not.Null, $"{host}{path}: lb closed the connection instead of answering");
        Assert.That(response!.Status, Is.EqualTo(200), $"{host}{path}: status");
        Assert.That(response.BodyText, Does.StartWith($"{host} {path} #"), $"{host}{path}: the answer must be the backend's own answer to this request");
    }

    /// <summary>Sum of <c>lb_backend_connections_discarded_total</c> over <paramref name="reasons"/>, read from /metrics.</summary>
    public async Task<long> DiscardedAsync(string[] reasons, CancellationToken cancellationToken)
    {
        var metrics = await Admin.GetAsync("/metrics", cancellationToken);
        long total = 0;
        foreach (Match match in DiscardLine().Matches(metrics))
        {
            if (reasons.Contains(match.Groups["reason"].Value))
            {
                total += long.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    /// <summary>Waits (bounded by the token) until the discard counter over <paramref name="reasons"/> reaches <paramref name="atLeast"/>.</summary>
    public async Task<long> WaitForDiscardedAsync(string[] reasons, long atLeast, CancellationToken cancellationToken)
    {
        while (true)
        {
            var count = await DiscardedAsync(reasons, cancellationToken);
            if (count >= atLeast)
            {
                return count;
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    public static string Describe(RawHttpResponse? response) => ConformanceRig.Describe(response);

    [GeneratedRegex("""^lb_backend_connections_discarded_total\{pool="shared",backend="[^"]+",reason="(?<reason>[a-z_]+)"\} (?<value>\d+)$""", RegexOptions.Multiline)]
    private static partial Regex DiscardLine();

    public async ValueTask DisposeAsync()
    {
        await Admin.DisposeAsync();
        await Lb.DisposeAsync();
        await Backend.DisposeAsync();
    }
}
