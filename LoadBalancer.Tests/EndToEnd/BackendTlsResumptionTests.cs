using System.Diagnostics;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// TLS to backends reuses the TLS session on reconnect (issue 12): the backend is <c>openssl s_server -www</c>, which
/// closes after each answer (so every request is a new backend connection) and says in its page whether the handshake
/// was new or resumed.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class BackendTlsResumptionTests : TlsFixture
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Reconnect_ToOpenSslServer_ResumesTheSession(CancellationToken cancellationToken)
    {
        var openssl = ExternalTool.Require("openssl", "openssl");
        var (cert, key, _) = Certs.Issue("b", ["b.test"]);
        using var server = Process.Start(new ProcessStartInfo(openssl, ["s_server", "-accept", "127.0.0.1:0", "-cert", Certs.PathOf(cert), "-key", Certs.PathOf(key), "-www"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        })!;
        var errors = server.StandardError.ReadToEndAsync(CancellationToken.None);
        Task<string>? drained = null;
        try
        {
            string? line;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                wait.CancelAfter(TimeSpan.FromSeconds(10));
                try
                {
                    do
                    {
                        line = await server.StandardOutput.ReadLineAsync(wait.Token);
                    }
                    while (line is not null && !line.StartsWith("ACCEPT ", StringComparison.Ordinal));
                }
                catch (OperationCanceledException)
                {
                    line = null;
                }
            }

            if (line is null)
            {
                server.Kill();
                Assert.Fail("s_server printed no ACCEPT line: " + await errors);
            }

            var address = line!["ACCEPT ".Length..];

            // -quiet would silence the ACCEPT line too; the rest of its output is drained so it never blocks on a full pipe.
            drained = server.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var config = TestConfigs.OneTenant(address, poolExtra: "tls = { sni = \"b.test\", ca = \"ca.pem\" }");
            await using var lb = await TestLb.StartAsync(config, ConfigPath);

            var pages = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                await using var client = await lb.ConnectAsync(cancellationToken);
                await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
                var response = await client.ReadResponseAsync(cancellationToken);
                Assert.That(response?.Status, Is.EqualTo(200));
                pages.Add(response!.BodyText);
            }

            using (Assert.EnterMultipleScope())
            {
                Assert.That(pages[0], Does.Contain("\nNew, "), pages[0]);
                Assert.That(pages[1], Does.Contain("\nReused, "), pages[1]);
                Assert.That(pages[2], Does.Contain("\nReused, "), pages[2]);
            }
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync(CancellationToken.None);
            await errors;
            if (drained is not null)
            {
                await drained;
            }
        }
    }
}
