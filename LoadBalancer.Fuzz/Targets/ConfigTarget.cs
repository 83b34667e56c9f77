using System.Text;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// ConfigLoader.LoadText: the TOML reader (Tomlyn underneath), ConfigValidator and SnapshotCompiler. Properties: no
/// exception escapes (the loader's contract is "every error, never a throw"); success and errors exclude each other;
/// every error is positioned inside the text (1-based line and column) with a message; loading is deterministic; and
/// allocation stays within a bound linear in the input (no blow-up from nesting or repetition).
/// </summary>
internal static class ConfigTarget
{
    private static readonly string Directory = Path.Combine(Path.GetTempPath(), $"lb-fuzz-config-{Environment.ProcessId}");

    public static void Run(ReadOnlySpan<byte> data)
    {
        string text = Encoding.UTF8.GetString(data);
        string path = Path.Combine(Directory, "lb.toml");

        long before = GC.GetAllocatedBytesForCurrentThread();
        var result = ConfigLoader.LoadText(text, path);
        Check.Allocated(before, (16L << 20) + (4096L * text.Length), "ConfigLoader.LoadText");

        Check.That(result.Success == (result.Snapshot is not null) && result.Success == (result.Errors.Count == 0),
            $"success {result.Success} with {result.Errors.Count} errors");
        int lines = 1;
        foreach (char c in text)
        {
            lines += c == '\n' ? 1 : 0;
        }

        foreach (var error in result.Errors)
        {
            Check.That(error.Line >= 1 && error.Line <= lines + 1 && error.Column >= 1, $"error outside the text ({lines} lines): {error}");
            Check.That(!string.IsNullOrWhiteSpace(error.Message), $"error without a message: {error}");
            Check.That(error.File == path, $"error names another file: {error}");
        }

        _ = result.Summary;

        var again = ConfigLoader.LoadText(text, path);
        Check.That(again.Success == result.Success && again.Errors.SequenceEqual(result.Errors), "the same text loaded twice differs");
    }
}
