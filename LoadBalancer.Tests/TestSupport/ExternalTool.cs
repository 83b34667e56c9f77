using System.Diagnostics;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>Runs a third-party client (openssl, curl) to its end, bounded by the test's token; killed by its own PID otherwise.</summary>
public static class ExternalTool
{
    public static string? Find(string name)
        => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    /// <summary>The tool's path, or an ignored test naming the apt package that .ci/run installs.</summary>
    public static string Require(string name, string package)
    {
        var path = Find(name);
        if (path is null)
        {
            Assert.Ignore($"{name} (apt package {package}) is not installed; .ci/run installs it.");
        }

        return path!;
    }

    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string path, IEnumerable<string> arguments, string? input, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                if (input is not null)
                {
                    await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
                }

                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The tool exited without reading its input (openssl s_client after a refused handshake): its exit
                // code and output are the result.
            }

            await process.WaitForExitAsync(cancellationToken);
            return (process.ExitCode, await output, await errors);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
