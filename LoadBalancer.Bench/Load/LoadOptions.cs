using System.Globalization;

namespace LoadBalancer.Bench.Load;

/// <summary>Options of the <c>load</c> verb; see <see cref="Usage"/>.</summary>
internal sealed class LoadOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project LoadBalancer.Bench -- load [options]
          --seconds N          measured seconds per scenario (default 10)
          --warmup N           unmeasured seconds before each scenario (default 5)
          --connections N      concurrent connections of the generator (default 64)
          --mode M             keepalive | newconn | both (default keepalive)
          --body LIST          response body bytes, comma-separated, e.g. 0,1024,65536 (default 0)
          --tenants N          tenants (Host names t0..tN-1.bench.test); requests walk through all of them (default 1)
          --backends N         backends in the pool, all in the bench process (default 2)
          --peers LIST         lb,direct,haproxy,nginx; missing haproxy/nginx are skipped (default lb,direct)
          --pin                proxy on CPU 1 (taskset -c 1), generator and backends on CPU 0
          --wrk                also run wrk -t1 against each target (when installed)
          --idle N             also measure each proxy's RSS with N idle keep-alive connections (e.g. 5000)
          --lb PATH            the lb binary (default artifacts/publish/lb, published first when missing or stale)
          --no-tc-multiplier   do not set DOTNET_TC_DelaySingleProcMultiplier=1 for the lb child
          --json PATH          also write the results as JSON
        """;

    public double Seconds { get; private set; } = 10;

    public double Warmup { get; private set; } = 5;

    public int Connections { get; private set; } = 64;

    public List<bool> KeepAliveModes { get; } = [true];

    public List<int> BodySizes { get; } = [0];

    public int Tenants { get; private set; } = 1;

    public int Backends { get; private set; } = 2;

    public List<string> Peers { get; } = ["lb", "direct"];

    public bool Pin { get; private set; }

    public bool Wrk { get; private set; }

    public int Idle { get; private set; }

    public string? LbPath { get; private set; }

    public bool TcMultiplier { get; private set; } = true;

    public string? JsonPath { get; private set; }

    public static bool TryParse(IReadOnlyList<string> args, out LoadOptions options, out string? error)
    {
        options = new LoadOptions();
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value()
            {
                if (i + 1 >= args.Count)
                {
                    throw new FormatException($"{name} needs a value");
                }

                return args[++i];
            }

            try
            {
                switch (name)
                {
                    case "--seconds": options.Seconds = Positive(double.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--warmup": options.Warmup = Math.Max(0, double.Parse(Value(), CultureInfo.InvariantCulture)); break;
                    case "--connections": options.Connections = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--mode":
                        options.KeepAliveModes.Clear();
                        options.KeepAliveModes.AddRange(Value() switch
                        {
                            "keepalive" => [true],
                            "newconn" => [false],
                            "both" => [true, false],
                            var other => throw new FormatException($"--mode: keepalive, newconn or both, not '{other}'"),
                        });
                        break;
                    case "--body":
                        options.BodySizes.Clear();
                        foreach (var size in Value().Split(',', StringSplitOptions.RemoveEmptyEntries))
                        {
                            options.BodySizes.Add(int.Parse(size, CultureInfo.InvariantCulture) is var bytes and >= 0 and <= 16 * 1024 * 1024
                                ? bytes
                                : throw new FormatException("--body: 0..16777216 bytes"));
                        }

                        break;
                    case "--tenants": options.Tenants = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--backends": options.Backends = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--peers":
                        options.Peers.Clear();
                        foreach (var peer in Value().Split(',', StringSplitOptions.RemoveEmptyEntries))
                        {
                            options.Peers.Add(peer is "lb" or "direct" or "haproxy" or "nginx"
                                ? peer
                                : throw new FormatException($"--peers: lb, direct, haproxy, nginx; not '{peer}'"));
                        }

                        break;
                    case "--pin": options.Pin = true; break;
                    case "--wrk": options.Wrk = true; break;
                    case "--idle": options.Idle = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--lb": options.LbPath = Path.GetFullPath(Value()); break;
                    case "--no-tc-multiplier": options.TcMultiplier = false; break;
                    case "--json": options.JsonPath = Path.GetFullPath(Value()); break;
                    default: throw new FormatException($"unknown option '{name}'");
                }
            }
            catch (FormatException ex)
            {
                error = ex.Message;
                return false;
            }
        }

        return true;
    }

    private static double Positive(double value, string name)
        => value > 0 ? value : throw new FormatException($"{name} must be positive");
}
