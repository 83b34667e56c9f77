using System.Text;

namespace LoadBalancer.Core.Http;

/// <summary>
/// Lookups over a parsed head's field table (offsets into its source bytes), the same for every protocol that fills
/// one: a field's value, a cookie, the path of a target, whether the client reads JSON. Allocation-free.
/// </summary>
public static class HeaderLookup
{
    /// <summary>Accept lists application/json (a client of an API, asking for errors it can parse).</summary>
    public static bool AcceptsJson(ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers)
    {
        foreach (ref readonly var header in headers)
        {
            if (header.NameLength == 6
                && Ascii.EqualsIgnoreCase(source.Slice(header.NameStart, 6), "accept"u8)
                && ContainsJson(source.Slice(header.ValueStart, header.ValueLength)))
            {
                return true;
            }
        }

        return false;
    }

    public static bool ContainsJson(ReadOnlySpan<byte> value)
    {
        const int Length = 16; // "application/json"
        for (var i = 0; i + Length <= value.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(value.Slice(i, Length), "application/json"u8))
            {
                return true;
            }
        }

        return false;
    }

    public static ReadOnlySpan<byte> PathOf(ReadOnlySpan<byte> target)
    {
        var query = target.IndexOf((byte)'?');
        return query < 0 ? target : target[..query];
    }

    public static ReadOnlySpan<byte> FindHeaderValue(ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers, string? name)
    {
        if (name is null)
        {
            return default;
        }

        foreach (ref readonly var header in headers)
        {
            if (Ascii.EqualsIgnoreCase(source.Slice(header.NameStart, header.NameLength), name))
            {
                return source.Slice(header.ValueStart, header.ValueLength);
            }
        }

        return default;
    }

    public static ReadOnlySpan<byte> FindCookie(ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers, string? name)
    {
        if (name is null)
        {
            return default;
        }

        foreach (ref readonly var header in headers)
        {
            if (header.Kind != HeaderKind.Cookie)
            {
                continue;
            }

            var value = source.Slice(header.ValueStart, header.ValueLength);
            foreach (var range in value.Split((byte)';'))
            {
                var pair = value[range].Trim((byte)' ');
                var equals = pair.IndexOf((byte)'=');
                if (equals > 0 && Ascii.Equals(pair[..equals], name))
                {
                    return pair[(equals + 1)..];
                }
            }
        }

        return default;
    }
}
