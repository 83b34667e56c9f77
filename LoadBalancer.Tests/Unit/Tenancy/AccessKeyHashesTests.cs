using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Tenancy;
using NUnit.Framework;

namespace LoadBalancer.Tests.Unit.Tenancy;

[TestFixture]
public sealed class AccessKeyHashesTests
{
    [Test]
    public void Sha256_ManyKeysRepeatedAndInterleaved_AlwaysEqualsSha256OfThatKey()
    {
        // More keys than the cache has slots, each presented several times in a shuffled order, so every path is
        // taken: miss, hit, a slot taken over by another key, and the first key coming back after that.
        var keys = new List<byte[]>();
        for (var i = 0; i < 300; i++)
        {
            keys.Add(Encoding.ASCII.GetBytes($"lbk_{i:x8}_{new string((char)('a' + (i % 26)), i % 40)}"));
        }

        keys.Add(new byte[AccessKeyHashes.MaxCachedKeyBytes]);
        keys.Add(new byte[AccessKeyHashes.MaxCachedKeyBytes + 1]);
        var order = Enumerable.Range(0, 5).SelectMany(_ => Enumerable.Range(0, keys.Count)).ToArray();
        new Random(42).Shuffle(order);
        Span<byte> hash = stackalloc byte[32];
        foreach (var index in order)
        {
            AccessKeyHashes.Sha256(keys[index], hash);
            Assert.That(hash.ToArray(), Is.EqualTo(SHA256.HashData(keys[index])), $"key {index}");
        }
    }

    [Test]
    public void Sha256_KeysDifferingOnlyInTheLastByteOrInLength_AreNotConfused()
    {
        Span<byte> hash = stackalloc byte[32];
        byte[][] keys = [Encoding.ASCII.GetBytes("secret-key-0"), Encoding.ASCII.GetBytes("secret-key-1"), Encoding.ASCII.GetBytes("secret-key-"), Encoding.ASCII.GetBytes("secret-key-00")];
        for (var round = 0; round < 3; round++)
        {
            foreach (var key in keys)
            {
                AccessKeyHashes.Sha256(key, hash);
                Assert.That(hash.ToArray(), Is.EqualTo(SHA256.HashData(key)));
            }
        }
    }
}
