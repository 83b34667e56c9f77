using Tomlyn.Parsing;

namespace LoadBalancer.Core.Config;

internal static partial class TomlConfigLoader
{
    /// <summary>
    /// A load's key names, one string per distinct bare key: a 10,000-tenant file repeats the same dozen keys ~110,000
    /// times, and one string per occurrence was ~4 MB per reload (issue 20). A quoted key, which may hold escapes, is
    /// decoded by the parser as before. One instance serves every piece of a file the chunked load parses.
    /// </summary>
    private sealed class KeyNames
    {
        private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);

        public string Name(string text, TomlParser parser, TomlParseEvent e)
        {
            if (e.Span is not { } where || where.Offset < 0 || where.Length <= 0 || where.Offset + where.Length > text.Length)
            {
                return parser.GetPropertyName();
            }

            var span = text.AsSpan(where.Offset, where.Length);
            if (!IsBareKey(span))
            {
                return parser.GetPropertyName();
            }

            var lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!lookup.TryGetValue(span, out var name))
            {
                name = span.ToString();
                _names[name] = name;
            }

            return name;
        }

        private static bool IsBareKey(ReadOnlySpan<char> span)
        {
            foreach (var c in span)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-')
                {
                    return false;
                }
            }

            return span.Length > 0;
        }
    }
}
