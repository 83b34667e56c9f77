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
          --backends KIND|N    nginx: one nginx process per backend (1 worker, keep-alive, body 0 = "hello\n"; the default
                               when nginx is installed); lean: the bench's in-process backends (fixed response; the
                               default otherwise, and always for --noisy and --reload); N: backends in the pool
                               (default 2). Give it twice for both, e.g. --backends lean --backends 3
          --peers LIST         lb,direct,haproxy,nginx,yarp; missing haproxy/nginx are skipped (default lb,direct); yarp runs this bench as a YARP 2.3 peer process
          --pin                proxy on CPU 1 (taskset -c 1), generator and backends on CPU 0; with --threads N > 1
                               the proxy gets the last N CPUs (on 2 CPUs: both, shared with the generator)
          --threads LIST       proxy threads, comma-separated, e.g. 1,2 (default 1): lb runs with that many epoll loops
                               (DOTNET_PROCESSOR_COUNT=N), HAProxy with nbthread N; each value is a target of its own
                               (lb-t1, lb-t2, haproxy-t1, ...; plain lb/haproxy names when only 1)
          --wrk                also run wrk -t1 against each target (when installed)
          --h2load             also run h2load -t1 (HTTP/2 prior knowledge; lb with http2 = true, HAProxy detects
                               the preface) with 64 connections x 10 streams and 8 x 100 against lb and haproxy,
                               for --seconds after --warmup; req/s, p50/p99 from h2load's request log, proxy CPU
          --tls KIND           the proxies terminate TLS (ecdsa: P-256, rsa: RSA-2048 self-signed certificate made for
                               the run; lb tls, haproxy bind ssl crt, nginx listen ssl); the generator and wrk speak
                               TLS to them (direct stays plaintext). newconn is then a handshake per request
          --tls-resume on|off  with --tls, whether the generator resumes TLS sessions (default on: after the first,
                               newconn handshakes are resumed); off: every newconn handshake is a full one (.NET
                               AllowTlsResume = false). Run once with each to give full and resumed rows apart
          --idle N             also measure each proxy's memory per idle keep-alive connection, on a fresh proxy: one
                               connection sends 200 requests and closes, 2 s settle, RSS; then N connections opened one
                               after another (one GET each, response read, left open), 2 s settle, RSS; then N more, 2 s,
                               RSS. Reports (RSS at N - before) / N and the slope from N to 2N (e.g. 5000)
          --dotnet-warmup N    warm-up seconds for the .NET targets (lb, yarp) instead of --warmup (outside check: 20)
          --no-unit-env        start lb without deploy/lb.service's Environment= settings (runtimeconfig only)
          --lb PATH            the lb binary (default artifacts/publish/lb, published first when missing or stale)
          --no-tc-multiplier   do not set DOTNET_TC_DelaySingleProcMultiplier=1 for the lb child
          --json PATH          also write the results as JSON
          --backend-delay-ms N the backends wait N ms before each response (default 0; --noisy: 20)
        scenario sets (issue 5's figures):
          --accounting         run the lb peer three ways, same load: (a) as generated, (b) with [access_log] to a
                               file, (c) with a never-refusing rate_limit and access_keys (the generator sends the
                               key); prints the req/s ratios. Metrics counters are always on in lb, so (a) includes them
          --noisy              noisy neighbour: tenants A and B on one pool of slow backends (--backend-delay-ms,
                               max_connections_per_backend); phase 1: B alone at a fixed open-loop rate; phase 2: the
                               same B while A floods at 10x its rate_limit; B's success rate and p50/p99, A's 429s.
                               Alone, --noisy skips the throughput grid (add --peers or --accounting to run it too)
          --noisy-limit R      A's rate_limit, requests_per_second = burst = R (default 150; A offers 10x R)
          --noisy-b-rps N      B's open-loop rate (default 100), starting on --noisy-b-connections keep-alive
                               connections (default 8; a request finding all busy opens another). A sends every other
                               request on a new connection, the rest on its own growing keep-alive pool
          --noisy-max-per-backend N  the pool's max_connections_per_backend (default 2)
          --reload             config reload every second under load: one lb (with an [admin] listener, --no-watch),
                               keep-alive load, body 0; after --warmup, a --seconds window without reloads, then one
                               on the same connections while the bench rewrites lb.toml (first backend's weight 1<->2)
                               and POSTs /reload every second; req/s, ratio, errors, new connections, reloads applied /
                               attempted, p99. Alone, --reload skips the throughput grid (add --peers to run it too)
                               With --tenants N of 1000 or more, --reload is issue 20's many-tenant run instead (also the
                               `scale` verb): each tenant its own pool of 2 backends and a rate_limit; lb check and
                               haproxy -c (time, CPU, peak RSS), HAProxy's and lb's started RSS, one keep-alive client
                               while the last tenant's rate_limit changes and /reload is POSTed once a second
                               (--reloads N, default 20): trigger-to-live times, worst latency, RSS after 6 and N
                               reloads, a routing and limit check, and live snapshots in a heap dump (dotnet-gcdump)
          --reloads N          reloads of the many-tenant run (default 20)
          --dashboard          what an open dashboard costs: one lb (with an [admin] listener), keep-alive load, body 0;
                               after --warmup, four --seconds windows on the same connections: page closed, open, closed,
                               open ("open": GET /api/dashboard and /api/dashboard/tenants/t0 every second, as the page
                               polls); req/s of open vs closed. Use --tenants N for a big tenant list. Alone, it skips the
                               throughput grid (add --peers to run it too)
        """;

    public double Seconds { get; private set; } = 10;

    public double Warmup { get; private set; } = 5;

    public int Connections { get; private set; } = 64;

    public List<bool> KeepAliveModes { get; } = [true];

    public List<int> BodySizes { get; } = [0];

    public int Tenants { get; private set; } = 1;

    public int Backends { get; private set; } = 2;

    public const string BackendsNginx = "nginx";

    public const string BackendsLean = "lean";

    /// <summary>nginx, lean, or null: nginx when installed, else lean.</summary>
    public string? BackendKind { get; private set; }

    public double? DotnetWarmup { get; private set; }

    public bool UnitEnvironment { get; private set; } = true;

    public List<string> Peers { get; } = ["lb", "direct"];

    public bool Pin { get; private set; }

    /// <summary>--threads: lb loops / HAProxy nbthread per target; [1] keeps the plain target names.</summary>
    public List<int> Threads { get; } = [1];

    public bool Wrk { get; private set; }

    /// <summary>--h2load: HTTP/2 (prior knowledge) with h2load against lb and HAProxy, 64 x 10 and 8 x 100 streams.</summary>
    public bool H2load { get; private set; }

    /// <summary>--tls: "ecdsa" or "rsa", or null for plaintext.</summary>
    public string? Tls { get; private set; }

    /// <summary>--tls-resume: false makes every new TLS connection of the generator a full handshake.</summary>
    public bool TlsResume { get; private set; } = true;

    public int Idle { get; private set; }

    public string? LbPath { get; private set; }

    public bool TcMultiplier { get; private set; } = true;

    public string? JsonPath { get; private set; }

    public bool PeersGiven { get; private set; }

    public int? BackendDelayMs { get; private set; }

    public bool Accounting { get; private set; }

    public bool Noisy { get; private set; }

    public int NoisyLimit { get; private set; } = 150;

    public int NoisyBRps { get; private set; } = 100;

    public int NoisyBConnections { get; private set; } = 8;

    public int NoisyMaxPerBackend { get; private set; } = 2;

    public bool Reload { get; private set; }

    public bool Dashboard { get; private set; }

    /// <summary>--reload with this many tenants or more: the many-tenant run (<see cref="ScaleRun"/>).</summary>
    public bool ScaleReload => Reload && Tenants >= ScaleRun.MinTenants;

    public int Reloads { get; private set; } = 20;

    /// <summary>The throughput grid (targets x modes x bodies) runs unless only --noisy, --reload and/or --dashboard were asked for.</summary>
    public bool RunGrid => !(Noisy || Reload || Dashboard) || PeersGiven || Accounting;

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
                    case "--backends":
                        switch (Value())
                        {
                            case (BackendsNginx or BackendsLean) and var kind: options.BackendKind = kind; break;
                            case var count when int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var n): options.Backends = (int)Positive(n, name); break;
                            case var other: throw new FormatException($"--backends: nginx, lean or a count, not '{other}'");
                        }

                        break;
                    case "--dotnet-warmup": options.DotnetWarmup = Math.Max(0, double.Parse(Value(), CultureInfo.InvariantCulture)); break;
                    case "--no-unit-env": options.UnitEnvironment = false; break;
                    case "--peers":
                        options.PeersGiven = true;
                        options.Peers.Clear();
                        foreach (var peer in Value().Split(',', StringSplitOptions.RemoveEmptyEntries))
                        {
                            options.Peers.Add(peer is "lb" or "direct" or "haproxy" or "nginx" or "yarp"
                                ? peer
                                : throw new FormatException($"--peers: lb, direct, haproxy, nginx, yarp; not '{peer}'"));
                        }

                        break;
                    case "--pin": options.Pin = true; break;
                    case "--threads":
                        options.Threads.Clear();
                        foreach (var part in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        {
                            options.Threads.Add((int)Positive(int.Parse(part, CultureInfo.InvariantCulture), name));
                        }

                        break;
                    case "--wrk": options.Wrk = true; break;
                    case "--h2load": options.H2load = true; break;
                    case "--tls": options.Tls = Value() is ("ecdsa" or "rsa") and var tlsKind ? tlsKind : throw new FormatException("--tls: ecdsa or rsa"); break;
                    case "--tls-resume": options.TlsResume = Value() switch { "on" => true, "off" => false, _ => throw new FormatException("--tls-resume: on or off") }; break;
                    case "--idle": options.Idle = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--lb": options.LbPath = Path.GetFullPath(Value()); break;
                    case "--no-tc-multiplier": options.TcMultiplier = false; break;
                    case "--json": options.JsonPath = Path.GetFullPath(Value()); break;
                    case "--backend-delay-ms": options.BackendDelayMs = (int)NonNegative(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--accounting": options.Accounting = true; break;
                    case "--noisy": options.Noisy = true; break;
                    case "--noisy-limit": options.NoisyLimit = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--noisy-b-rps": options.NoisyBRps = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--noisy-b-connections": options.NoisyBConnections = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--noisy-max-per-backend": options.NoisyMaxPerBackend = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
                    case "--reload": options.Reload = true; break;
                    case "--dashboard": options.Dashboard = true; break;
                    case "--reloads": options.Reloads = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name); break;
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

    private static double NonNegative(double value, string name)
        => value >= 0 ? value : throw new FormatException($"{name} must not be negative");

    private static double Positive(double value, string name)
        => value > 0 ? value : throw new FormatException($"{name} must be positive");
}
