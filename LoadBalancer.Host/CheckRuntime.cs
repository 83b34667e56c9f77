using System.Collections;
using System.Runtime.InteropServices;

namespace LoadBalancer.Host;

/// <summary>
/// <c>lb check</c> runs with the runtime's own call-counting delay, not the one lb.runtimeconfig.json sets for serving.
/// </summary>
/// <remarks>
/// The runtimeconfig's <c>CallCountingDelayMs = 0</c> is for a long-lived lb: its request path reaches tier 1 early.
/// A check lives for one load, and with no delay every method it calls 30 times is recompiled (tier-1 instrumented, then
/// tier 1) on a background thread while the load runs on the other core: at 10,000 tenants (published lb, load average
/// 10-11) 0.84-0.91 s CPU and 1.64-2.43 s wall, against 0.42-0.46 s and 0.93-1.15 s re-executed (issue 20). The knob is
/// read once at runtime start and the environment overrides the runtimeconfig, so a check re-executes itself (execve: the
/// same process id, output and exit code, one more runtime start of ~0.04 s CPU) with the default set in the environment.
/// An operator's own <c>DOTNET_TC_CallCountingDelayMs</c> is kept as it is, and so is any failure to exec: the check
/// then runs here, only slower.
/// </remarks>
internal static unsafe partial class CheckRuntime
{
    internal const string Variable = "DOTNET_TC_CallCountingDelayMs";

    /// <summary>The runtime's default (100 ms without new tier-0 code before counting starts).</summary>
    private const string Default = "100";

    /// <summary>Replaces this process with itself under the default delay when <paramref name="args"/> is a check; returns only when it does not.</summary>
    public static void ReexecIfCheck(string[] args)
    {
        if (!OperatingSystem.IsLinux() || !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled)
        {
            return;
        }

        if (Plan(args, Environment.ProcessPath, typeof(CheckRuntime).Assembly.Location, Environment.GetEnvironmentVariables()) is { } plan)
        {
            Exec(plan.Argv[0], plan.Argv, plan.Environment);
        }
    }

    /// <summary>What to execute instead of this process (argv[0] is the file), or null to run here.</summary>
    internal static (List<string> Argv, List<string> Environment)? Plan(string[] args, string? process, string dll, IDictionary environment)
    {
        if (args.Length == 0 || args[0] != "check" || process is null || environment.Contains(Variable))
        {
            return null;
        }

        // The apphost (lb) takes the arguments as they are; the muxer (dotnet lb.dll, as the tests run it) the dll first.
        var argv = new List<string> { process };
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
        {
            if (dll.Length == 0)
            {
                return null;
            }

            argv.Add(dll);
        }

        argv.AddRange(args);
        var variables = new List<string>(environment.Count + 1) { $"{Variable}={Default}" };
        foreach (DictionaryEntry variable in environment)
        {
            variables.Add($"{variable.Key}={variable.Value}");
        }

        return (argv, variables);
    }

    private static void Exec(string path, List<string> argv, List<string> environment)
    {
        var strings = new List<nint>(argv.Count + environment.Count + 1);
        try
        {
            var file = Utf8(path, strings);
            var argvPointers = new byte*[argv.Count + 1];
            var envPointers = new byte*[environment.Count + 1];
            for (var i = 0; i < argv.Count; i++)
            {
                argvPointers[i] = Utf8(argv[i], strings);
            }

            for (var i = 0; i < environment.Count; i++)
            {
                envPointers[i] = Utf8(environment[i], strings);
            }

            fixed (byte** argvBlock = argvPointers)
            fixed (byte** envBlock = envPointers)
            {
                // Returns only on failure; the check then runs in this process.
                _ = ExecVe(file, argvBlock, envBlock);
            }
        }
        finally
        {
            foreach (var pointer in strings)
            {
                Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    private static byte* Utf8(string value, List<nint> allocated)
    {
        var pointer = Marshal.StringToCoTaskMemUTF8(value);
        allocated.Add(pointer);
        return (byte*)pointer;
    }

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static partial int ExecVe(byte* path, byte** argv, byte** envp);
}
