namespace LoadBalancer.Fuzz;

/// <summary>Runs a target over files (or every file of folders) without libFuzzer, e.g. a committed corpus or a crash file.</summary>
internal static class Replay
{
    public static int Run(string name, FuzzTarget target, string[] paths)
    {
        if (paths.Length == 0)
        {
            Console.Error.WriteLine($"usage: LoadBalancer.Fuzz {name} FILE|DIR... (or run it under lb-fuzz-driver)");
            return 2;
        }

        int files = 0;
        int failures = 0;
        foreach (var path in paths)
        {
            var inputs = Directory.Exists(path) ? Directory.GetFiles(path, "*", SearchOption.AllDirectories) : [path];
            Array.Sort(inputs, StringComparer.Ordinal);
            foreach (var input in inputs)
            {
                files++;
                try
                {
                    target(File.ReadAllBytes(input));
                }
                catch (Exception e)
                {
                    failures++;
                    Console.Error.WriteLine($"{name}: {input}: {e.GetType().Name}: {e.Message}");
                    Console.Error.WriteLine(e.StackTrace);
                }
            }
        }

        Console.WriteLine($"{name}: replayed {files} inputs, {failures} failed");
        return failures == 0 ? 0 : 1;
    }
}
