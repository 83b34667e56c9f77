using LoadBalancer.Core.Http2;

namespace LoadBalancer.Tests.Unit.Http2;

[TestFixture]
public sealed class GrpcTimeoutTests
{
    [TestCase("1H", 36_000_000_000L)]
    [TestCase("2M", 1_200_000_000L)]
    [TestCase("30S", 300_000_000L)]
    [TestCase("250m", 2_500_000L)]
    [TestCase("99999999u", 999_999_990L)]
    [TestCase("1500n", 15L)]
    [TestCase("0m", 0L)]
    public void Valid(string value, long ticks)
    {
        Assert.That(GrpcTimeout.TryParse(System.Text.Encoding.ASCII.GetBytes(value), out var timeout), Is.True);
        Assert.That(timeout.Ticks, Is.EqualTo(ticks));
    }

    [TestCase("")]
    [TestCase("m")]
    [TestCase("10")]
    [TestCase("123456789S")]
    [TestCase("1s")]
    [TestCase("-1S")]
    [TestCase("1 S")]
    public void Invalid_IsIgnored(string value)
        => Assert.That(GrpcTimeout.TryParse(System.Text.Encoding.ASCII.GetBytes(value), out _), Is.False);
}
