namespace LoadBalancer.Core.Config;

/// <summary>The valid key an unknown lb.toml key most likely meant (<c>pol</c> -> <c>pool</c>), by edit distance.</summary>
internal static class KeySuggestion
{
    /// <summary>
    /// The closest of <paramref name="valid"/>, or null when none is close: at most 1 edit for keys of up to 4
    /// characters, 2 for longer ones, after reading <c>-</c> as <c>_</c> and ignoring case (<c>max-in-flight</c>,
    /// <c>Pool</c>). Further than that a guess misleads more than the full list of keys helps.
    /// </summary>
    public static string? Closest(string key, IReadOnlyList<string> valid)
    {
        var normalized = key.Replace('-', '_').ToLowerInvariant();
        var limit = normalized.Length <= 4 ? 1 : 2;
        string? best = null;
        var bestDistance = limit + 1;
        foreach (var candidate in valid)
        {
            var distance = Distance(normalized, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best;
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions), two rows.</summary>
    internal static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
