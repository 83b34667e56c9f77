using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Core.Management;

/// <summary>One entry of a 422's <c>errors</c>: the config path, what is wrong, and where in lb.toml (null for the request body).</summary>
public sealed partial record ConfigApiError(string Path, string Message, int? Line, int? Column)
{
    public static ConfigApiError From(ConfigError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new ConfigApiError(error.Path, error.Message, error.Line, error.Column);
    }

    /// <summary>A reload's <c>FILE:LINE:COL: path: message</c> line (a listen address in use) back into its parts.</summary>
    public static ConfigApiError FromLine(string file, string line)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(line);
        if (line.StartsWith(file + ":", StringComparison.Ordinal) && Position().Match(line, file.Length + 1) is { Success: true } match)
        {
            var rest = match.Groups["rest"].Value;
            var path = ConfigPath().Match(rest);
            return new ConfigApiError(
                path.Success ? path.Groups["path"].Value : "",
                path.Success ? rest[path.Length..] : rest,
                int.Parse(match.Groups["line"].Value, CultureInfo.InvariantCulture),
                int.Parse(match.Groups["column"].Value, CultureInfo.InvariantCulture));
        }

        return new ConfigApiError("", line, null, null);
    }

    public static void WriteAll(Utf8JsonWriter writer, IEnumerable<ConfigApiError> errors)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(errors);
        writer.WriteStartArray("errors");
        foreach (var error in errors)
        {
            writer.WriteStartObject();
            writer.WriteString("path", error.Path);
            writer.WriteString("message", error.Message);
            if (error.Line is { } l)
            {
                writer.WriteNumber("line", l);
            }
            else
            {
                writer.WriteNull("line");
            }

            if (error.Column is { } c)
            {
                writer.WriteNumber("column", c);
            }
            else
            {
                writer.WriteNull("column");
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    [GeneratedRegex(@"\G(?<line>\d+):(?<column>\d+): (?<rest>.*)$", RegexOptions.Singleline)]
    private static partial Regex Position();

    [GeneratedRegex(@"^(?<path>[A-Za-z0-9_]+(?:\[\d+\])*(?:\.[A-Za-z0-9_]+(?:\[\d+\])*)*): ")]
    private static partial Regex ConfigPath();
}
