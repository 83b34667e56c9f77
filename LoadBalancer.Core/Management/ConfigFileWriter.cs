namespace LoadBalancer.Core.Management;

/// <summary>
/// Replaces lb.toml atomically: the new bytes go to a temporary file in the same directory (same file system, so the
/// rename is atomic), are fsynced, get the old file's permissions (lb.toml may hold a token), and are renamed over it.
/// A reader (lb's own reload, an editor, git) sees the old file or the new one, never half of one.
/// </summary>
public static class ConfigFileWriter
{
    public static async Task WriteAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(bytes);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous });
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows() && File.Exists(full))
            {
                File.SetUnixFileMode(temp, File.GetUnixFileMode(full));
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            // Only left behind when something above failed; the original is then untouched.
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
