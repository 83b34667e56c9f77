using System.Security.Cryptography;

namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// SHA-256 of a presented access key, remembered per thread for the keys presented last. A keep-alive client sends
/// the same key on every request, and .NET's one-shot SHA-256 goes through OpenSSL, which allocates and frees a
/// digest context and clears its error queue on each call: with a key, a route, a consumer and a ledger on every
/// request, libcrypto and its malloc/free were ~3.5% of lb's CPU (perf, wrk -c64 on nginx backends, issue 13's
/// "(d)" config). A hit costs a non-cryptographic hash of the key and a constant-time comparison.
/// </summary>
/// <remarks>
/// Only the function key -> SHA-256 is cached; the comparison with the configured hashes still runs on every request,
/// so a reload that removes a key takes effect at once. The remembered key is compared in constant time (for keys of
/// the same length), so a client whose guess lands in the slot of another client's key learns nothing from the
/// timing but the length, which <c>lb key new</c> makes the same for every key. The slot comes from
/// <see cref="HashCode"/>, seeded per process, so a client cannot aim at a slot. Per thread: the epoll loops and the
/// .NET engine's pool threads never share one.
/// </remarks>
internal static class AccessKeyHashes
{
    /// <summary>Longer keys are hashed every time (they are not what <c>lb key new</c> makes).</summary>
    internal const int MaxCachedKeyBytes = 96;

    private const int Slots = 64;

    private const int HashBytes = 32;

    [ThreadStatic]
    private static Cache? t_cache;

    /// <summary>Writes SHA-256 of <paramref name="key"/> into <paramref name="hash"/> (32 bytes).</summary>
    public static void Sha256(ReadOnlySpan<byte> key, Span<byte> hash)
    {
        if (key.Length > MaxCachedKeyBytes)
        {
            SHA256.HashData(key, hash);
            return;
        }

        var cache = t_cache ??= new Cache();
        var slot = (int)((uint)SlotHash(key) % Slots);
        var keyBytes = cache.Keys.AsSpan(slot * MaxCachedKeyBytes, MaxCachedKeyBytes);
        var cached = cache.Hashes.AsSpan(slot * HashBytes, HashBytes);
        if (cache.Lengths[slot] == key.Length && CryptographicOperations.FixedTimeEquals(keyBytes[..key.Length], key))
        {
            cached.CopyTo(hash);
            return;
        }

        SHA256.HashData(key, hash);
        key.CopyTo(keyBytes);
        hash[..HashBytes].CopyTo(cached);
        cache.Lengths[slot] = key.Length;
    }

    private static int SlotHash(ReadOnlySpan<byte> key)
    {
        var hasher = default(HashCode);
        hasher.AddBytes(key);
        return hasher.ToHashCode();
    }

    private sealed class Cache
    {
        public readonly byte[] Keys = new byte[Slots * MaxCachedKeyBytes];

        public readonly byte[] Hashes = new byte[Slots * HashBytes];

        // 0 = empty: an empty key never reaches the cache (it is a 401 before hashing).
        public readonly int[] Lengths = new int[Slots];
    }
}
