using System.CommandLine;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Host;

/// <summary>The <c>lb</c> command line: <c>lb [--config PATH] [--demo]</c> runs, <c>lb check [--config PATH]</c> validates.</summary>
internal static class LbCommandLine
{
    public static RootCommand Build()
    {
        var config = new Option<string>("--config", "-c")
        {
            Description = "Path to lb.toml",
            DefaultValueFactory = _ => "lb.toml",
            Recursive = true,
        };
        var demo = new Option<bool>("--demo")
        {
            Description = "Also start built-in whoami backends on the pools' loopback addresses",
        };

        var noWatch = new Option<bool>("--no-watch")
        {
            Description = "Do not reload when the config file changes (SIGHUP and POST /reload still do)",
        };

        var root = new RootCommand("lb: a multi-tenant L4/L7 load balancer");
        root.Options.Add(config);
        root.Options.Add(demo);
        root.Options.Add(noWatch);
        root.SetAction((parse, cancellationToken) => LbRunner.RunAsync(
            new LbOptions(Path.GetFullPath(parse.GetValue(config)!), parse.GetValue(demo), WatchConfig: !parse.GetValue(noWatch)),
            cancellationToken));

        var check = new Command("check", "Validate the configuration and exit (0: valid, 1: errors printed as PATH:LINE:COL: message)");
        check.SetAction(parse => Check(parse.GetValue(config)!));
        root.Subcommands.Add(check);
        return root;
    }

    private static int Check(string path)
    {
        var result = ConfigLoader.LoadFile(path);
        if (!result.Success)
        {
            foreach (var error in result.Errors)
            {
                Console.Error.WriteLine(error.ToString());
            }

            return 1;
        }

        Console.WriteLine(result.Summary);
        return 0;
    }
}
