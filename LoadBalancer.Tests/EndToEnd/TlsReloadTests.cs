using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using LoadBalancer.Host;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>Certificates on reload, through the real host: re-read on every reload, and applied when only a file changed.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TlsReloadTests : TlsFixture
{
    private string Config(string backend) => TlsTerminationTests.Config(backend, $"{{ cert = \"{Certs.PathOf("a.pem")}\", key = \"{Certs.PathOf("a.key")}\" }}");

    private SslClientAuthenticationOptions ClientOptions() => new()
    {
        TargetHost = "a.test",
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Certs.Validate(certificate as X509Certificate2),
    };

    private static string Thumbprint(RawHttpConnection connection) => new X509Certificate2(connection.Tls!.RemoteCertificate!).Thumbprint;

    private static async Task<int> GetAsync(RawHttpConnection connection, CancellationToken cancellationToken)
    {
        await connection.SendAsync("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", cancellationToken);
        return (await connection.ReadResponseAsync(cancellationToken))!.Status;
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Reload_CertificateFileChanged_NewConnectionsGetNewOne_OpenKeepAliveConnectionKeepsWorking(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var first = Certs.Issue("a", ["a.test"]).Leaf;
        await using var lb = await LbTestHost.StartAsync(Config(backend.Address));
        await using var open = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions(), cancellationToken);
        Assert.That(await GetAsync(open, cancellationToken), Is.EqualTo(200));

        Assert.That((await lb.Reloader.ReloadAsync("test")).Outcome, Is.EqualTo(ReloadOutcome.Unchanged), "nothing changed yet");
        var second = Certs.Issue("a", ["a.test"]).Leaf;
        var reloaded = await lb.Reloader.ReloadAsync("test");

        await using var fresh = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions(), cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reloaded.Outcome, Is.EqualTo(ReloadOutcome.Applied), string.Join("\n", reloaded.Errors));
            Assert.That(Thumbprint(fresh), Is.EqualTo(second.Thumbprint));
            Assert.That(await GetAsync(fresh, cancellationToken), Is.EqualTo(200));
            Assert.That(await GetAsync(open, cancellationToken), Is.EqualTo(200), "the open connection keeps working");
            Assert.That(Thumbprint(open), Is.EqualTo(first.Thumbprint), "and keeps the certificate it got");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Reload_BadKeyFile_RejectedWithPosition_OldCertificateKeepsServing(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var first = Certs.Issue("a", ["a.test"]).Leaf;
        await using var lb = await LbTestHost.StartAsync(Config(backend.Address));
        Certs.Issue("other", ["other.test"]);
        File.Copy(Certs.PathOf("other.key"), Certs.PathOf("a.key"), overwrite: true);

        var rejected = await lb.Reloader.ReloadAsync("test");

        await using var connection = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions(), cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rejected.Outcome, Is.EqualTo(ReloadOutcome.Rejected));
            Assert.That(rejected.Errors.Single(), Does.StartWith($"{lb.ConfigPath}:4:").And.Contain("listeners[0].tls.certificates[0].key").And.Contain("a.key: key does not match certificate"));
            Assert.That(Thumbprint(connection), Is.EqualTo(first.Thumbprint));
            Assert.That(await GetAsync(connection, cancellationToken), Is.EqualTo(200));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Watcher_CertificateRenewedOnDisk_AppliedWithoutTouchingLbToml(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        Certs.Issue("a", ["a.test"]);
        await using var lb = await LbTestHost.StartAsync(Config(backend.Address), watch: true, debounce: TimeSpan.FromMilliseconds(100));
        var applied = new TaskCompletionSource<ReloadResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lb.Reloader.Reloaded += result =>
        {
            if (result.Outcome == ReloadOutcome.Applied)
            {
                applied.TrySetResult(result);
            }
        };

        var renewed = Certs.Issue("a", ["a.test"]).Leaf;
        await applied.Task.WaitAsync(cancellationToken);

        await using var connection = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions(), cancellationToken);
        Assert.That(Thumbprint(connection), Is.EqualTo(renewed.Thumbprint));
    }
}
