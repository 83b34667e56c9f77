using LoadBalancer.Fuzz;

// LoadBalancer.Fuzz TARGET                 run under libFuzzer (driver/lb-fuzz-driver.c sets __LIBFUZZER_SHM_ID)
// LoadBalancer.Fuzz TARGET FILE|DIR...     replay inputs without libFuzzer: what CI and a regression hunt use
// LoadBalancer.Fuzz seed CORPUS_ROOT       (re)write the seed corpora from the conformance tables
// LoadBalancer.Fuzz list                   the target names
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: LoadBalancer.Fuzz TARGET [FILE|DIR...] | seed CORPUS_ROOT | list");
    return 2;
}

if (args[0] == "list")
{
    foreach (var name in FuzzTargets.Names)
    {
        Console.WriteLine(name);
    }

    return 0;
}

if (args[0] == "seed")
{
    return CorpusSeeder.Write(args.Length > 1 ? args[1] : "corpus");
}

if (!FuzzTargets.TryGet(args[0], out var target))
{
    Console.Error.WriteLine($"unknown target '{args[0]}'; targets: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}

if (Environment.GetEnvironmentVariable("__LIBFUZZER_SHM_ID") is not null)
{
    SharpFuzz.Fuzzer.LibFuzzer.Run(span => target(span));
    return 0;
}

return Replay.Run(args[0], target, args[1..]);
