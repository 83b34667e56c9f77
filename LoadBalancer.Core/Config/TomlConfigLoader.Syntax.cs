using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace LoadBalancer.Core.Config;

/// <summary>
/// Syntax errors without their cascade. After one TOML syntax error Tomlyn's recovery is unreliable: an unterminated
/// string flips which quotes open and close strings for the rest of the file, and one missing quote came out as 50
/// errors. So only the first error of a parse is trusted; its line is then blanked (lines keep their numbers) and
/// the text parsed again, to find an independent second mistake further down, and so on.
/// </summary>
internal static partial class TomlConfigLoader
{
    /// <summary>Independent syntax errors reported at most; a file with more is best fixed from the top.</summary>
    private const int MaxSyntaxErrors = 10;

    /// <summary>Adds the syntax errors of <paramref name="text"/> to <paramref name="errors"/>; true when there were any.</summary>
    private static bool ReportSyntaxErrors(string text, ConfigErrorList errors)
    {
        var lines = text.Split('\n');
        var lastLine = -1;
        for (var round = 0; round < MaxSyntaxErrors; round++)
        {
            var document = SyntaxParser.Parse(string.Join('\n', lines), errors.File, validate: false);
            if (FirstError(document) is not { } first)
            {
                return round > 0;
            }

            // An error at or above a line already blanked is what blanking caused (or EOF of a string that never
            // closes): nothing further down can be told apart from the cascade.
            var line = first.Span.Start.Line;
            if (line <= lastLine || line >= lines.Length)
            {
                return true;
            }

            errors.Add(SourcePosition.From(first.Span.Start), "", first.Message);
            lines[line] = "";
            lastLine = line;
        }

        return true;
    }

    private static DiagnosticMessage? FirstError(DocumentSyntax document)
    {
        DiagnosticMessage? first = null;
        foreach (var diagnostic in document.Diagnostics)
        {
            if (diagnostic.Kind == DiagnosticMessageKind.Error
                && (first is null || diagnostic.Span.Start.Offset < first.Span.Start.Offset))
            {
                first = diagnostic;
            }
        }

        return first;
    }

    /// <summary>
    /// Where the value at a config path such as <c>listeners[0].listen</c> is written, for errors found after loading
    /// (a port in use); null when the text does not parse or has no such value.
    /// </summary>
    internal static SourcePosition? Find(string text, string path)
    {
        var document = SyntaxParser.Parse(text, validate: true);
        if (document.HasErrors)
        {
            return null;
        }

        TomlNode? node = BuildTree(document);
        foreach (var segment in path.Split('.'))
        {
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            node = node?.Get(bracket < 0 ? segment : segment[..bracket]);
            if (bracket >= 0 && node is not null)
            {
                var index = int.Parse(segment.AsSpan(bracket + 1, segment.Length - bracket - 2), System.Globalization.CultureInfo.InvariantCulture);
                node = index < node.Items.Count ? node.Items[index] : null;
            }
        }

        return node?.Position;
    }
}
