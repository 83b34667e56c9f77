using System.Net;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// The backends of the throughput grid: nginx processes (the default when nginx is installed) or the lean in-process
/// <see cref="BenchBackend"/>s (<c>--backends lean</c>). The lean ones flatter a proxy that is cheap per request: they
/// answer from one precomputed buffer, with no Date or Server header, where nginx does real HTTP work.
/// </summary>
internal sealed class BackendSet : IAsyncDisposable
{
    private readonly List<BenchBackend> _lean;
    private readonly NginxBackends? _nginx;

    private BackendSet(List<BenchBackend> lean, NginxBackends? nginx)
    {
        _lean = lean;
        _nginx = nginx;
        EndPoints = nginx?.EndPoints ?? lean.Select(b => b.EndPoint).ToList();
    }

    public IReadOnlyList<IPEndPoint> EndPoints { get; }

    public bool IsNginx => _nginx is not null;

    /// <summary>One line for the report: which backends answered.</summary>
    public string Description => IsNginx
        ? $"{EndPoints.Count} nginx processes (1 worker each, keep-alive; body 0 is `return 200 \"hello\\n\"`, 6 B; larger bodies a static file)"
        : $"{EndPoints.Count} lean in-process HTTP/1.1 backends (fixed precomputed response)";

    public static async Task<BackendSet> StartAsync(LoadOptions options, string directory, List<string> notes)
    {
        var nginx = options.BackendKind is null or LoadOptions.BackendsNginx ? LbBinary.FindOnPath("nginx") : null;
        if (nginx is not null)
        {
            return new BackendSet([], await NginxBackends.StartAsync(nginx, options.Backends, directory, options.BodySizes[0]).ConfigureAwait(false));
        }

        if (options.BackendKind == LoadOptions.BackendsNginx)
        {
            throw new InvalidOperationException("--backends nginx: nginx is not installed (apt-get install nginx-light)");
        }

        if (options.BackendKind is null)
        {
            notes.Add("backends: nginx is not installed, so the lean in-process backends answered (apt-get install nginx-light for real ones)");
        }

        return new BackendSet(StartLean(options), null);
    }

    /// <summary>Lean backends, also what --noisy (per-response delay) and --reload use whatever the grid runs on.</summary>
    public static List<BenchBackend> StartLean(LoadOptions options)
    {
        var backends = new List<BenchBackend>();
        for (var i = 0; i < options.Backends; i++)
        {
            var backend = BenchBackend.Start(options.BodySizes[0]);
            backend.SetDelay(options.BackendDelayMs ?? 0);
            backends.Add(backend);
        }

        return backends;
    }

    /// <summary>CPU seconds of backends outside the bench process so far; null for the in-process ones.</summary>
    public Func<double>? CpuSeconds => _nginx is null ? null : _nginx.CpuSeconds;

    public async Task SetBodyBytesAsync(int bodyBytes)
    {
        if (_nginx is not null)
        {
            await _nginx.SetBodyBytesAsync(bodyBytes).ConfigureAwait(false);
            return;
        }

        foreach (var backend in _lean)
        {
            backend.SetBodyBytes(bodyBytes);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_nginx is not null)
        {
            await _nginx.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var backend in _lean)
        {
            await backend.DisposeAsync().ConfigureAwait(false);
        }
    }
}
