using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>The admin API's JSON is read by people: relaxed escaping, so a quote is <c>\"</c>, not <c>\u0022</c>.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class AdminJsonTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task ErrorMessageQuotes_AreBackslashQuote_NotUnicodeEscapes(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await LbTestHost.StartAsync("[admin]\nlisten = \"127.0.0.1:0\"\n" + TestConfigs.OneTenant(backend.Address));
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };

        using var missing = await admin.PostAsync("api/pools/nope/backends/x/drain", null, cancellationToken);
        var body = await missing.Content.ReadAsStringAsync(cancellationToken);

        Assert.That((int)missing.StatusCode, Is.EqualTo(404));
        Assert.That(body, Does.Contain("\"error\": \"no pool named \\\"nope\\\"\"").And.Not.Contain("\\u0022"), body);
    }
}
