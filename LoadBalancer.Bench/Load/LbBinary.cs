using System.Diagnostics;

namespace LoadBalancer.Bench.Load;

/// <summary>Finds the published lb, and publishes it first when it is missing or older than the sources.</summary>
internal static class LbBinary
{
    public static string? FindRepositoryRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "LoadBalancer.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }

    public static async Task<string> LocateAsync(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            return File.Exists(explicitPath) ? explicitPath : throw new FileNotFoundException($"--lb {explicitPath}: no such file");
        }

        var root = FindRepositoryRoot() ?? throw new InvalidOperationException("cannot find LoadBalancer.sln above the current directory; pass --lb PATH");
        var publish = Path.Combine(root, "artifacts", "publish");
        var binary = Path.Combine(publish, "lb");
        var dll = Path.Combine(publish, "lb.dll");
        var newestSource = NewestSource(root);
        if (File.Exists(binary) && File.Exists(dll) && File.GetLastWriteTimeUtc(dll) >= newestSource)
        {
            return binary;
        }

        Console.WriteLine(File.Exists(binary) ? "lb: sources are newer than artifacts/publish/lb, publishing..." : "lb: publishing artifacts/publish/lb...");
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = root, UseShellExecute = false };
        foreach (var argument in new[] { "publish", "LoadBalancer.Host/LoadBalancer.Host.csproj", "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", publish, "-nologo", "-v", "quiet" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start dotnet publish");
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0 || !File.Exists(binary))
        {
            throw new InvalidOperationException($"dotnet publish LoadBalancer.Host failed (exit code {process.ExitCode})");
        }

        return binary;
    }

    private static DateTime NewestSource(string root)
    {
        var newest = DateTime.MinValue;
        foreach (var project in new[] { "LoadBalancer.Core", "LoadBalancer.Host" })
        {
            var dir = Path.Combine(root, project);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            {
                if (file.Contains("/bin/", StringComparison.Ordinal) || file.Contains("/obj/", StringComparison.Ordinal))
                {
                    continue;
                }

                if (file.EndsWith(".cs", StringComparison.Ordinal) || file.EndsWith(".csproj", StringComparison.Ordinal))
                {
                    var time = File.GetLastWriteTimeUtc(file);
                    newest = time > newest ? time : newest;
                }
            }
        }

        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props" })
        {
            var path = Path.Combine(root, file);
            if (File.Exists(path))
            {
                var time = File.GetLastWriteTimeUtc(path);
                newest = time > newest ? time : newest;
            }
        }

        return newest;
    }

    /// <summary>Finds an executable on PATH (haproxy, nginx, wrk, taskset); null when absent.</summary>
    public static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin"]))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
