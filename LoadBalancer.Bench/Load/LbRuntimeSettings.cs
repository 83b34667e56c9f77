using System.Text;
using System.Text.Json;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// What runtime settings an lb child actually ran with: the configProperties of the binary's runtimeconfig.json (the
/// csproj's settings, which every way of starting lb gets) and the DOTNET_ variables in the child's own environment
/// (<c>/proc/PID/environ</c>, so inherited ones count too).
/// </summary>
internal static class LbRuntimeSettings
{
    /// <summary>The SDK's and CLI's own variables, which the runtime does not read.</summary>
    private static readonly string[] NotRuntime = ["DOTNET_CLI_", "DOTNET_ROOT", "DOTNET_NOLOGO", "DOTNET_GENERATE_ASPNET_CERTIFICATE", "DOTNET_SKIP_FIRST_TIME_EXPERIENCE", "DOTNET_HOST_PATH"];

    public static string Describe(string lbPath, int pid)
    {
        var text = new StringBuilder("runtimeconfig ");
        var runtimeConfig = Path.ChangeExtension(lbPath, null) + ".runtimeconfig.json";
        text.Append(File.Exists(runtimeConfig) ? string.Join(", ", ConfigProperties(File.ReadAllText(runtimeConfig))) : "(none: Native AOT?)");
        text.Append("; environment ");
        var environment = DotnetVariables(pid);
        text.Append(environment.Count == 0 ? "(no DOTNET_ variables)" : string.Join(", ", environment));
        return text.ToString();
    }

    /// <summary>The runtime knobs of a runtimeconfig.json, as name=value, without the SDK's compatibility switches.</summary>
    internal static List<string> ConfigProperties(string json)
    {
        var settings = new List<string>();
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.TryGetProperty("runtimeOptions", out var options) && options.TryGetProperty("configProperties", out var properties))
        {
            foreach (var property in properties.EnumerateObject())
            {
                if (property.Name.StartsWith("System.GC.", StringComparison.Ordinal) || property.Name.StartsWith("System.Runtime.Tiered", StringComparison.Ordinal)
                    || property.Name.StartsWith("System.Threading.ThreadPool.", StringComparison.Ordinal)
                    || !property.Name.StartsWith("System.", StringComparison.Ordinal))
                {
                    settings.Add($"{property.Name}={property.Value}");
                }
            }
        }

        return settings;
    }

    private static List<string> DotnetVariables(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ")
                .Split('\0', StringSplitOptions.RemoveEmptyEntries)
                .Where(v => v.StartsWith("DOTNET_", StringComparison.Ordinal) && !NotRuntime.Any(p => v.StartsWith(p, StringComparison.Ordinal)))
                .Order(StringComparer.Ordinal)
                .ToList();
        }
        catch (IOException)
        {
            return ["(unreadable)"];
        }
    }
}
