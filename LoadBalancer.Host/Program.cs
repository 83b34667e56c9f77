using System.CommandLine;
using LoadBalancer.Host;

// A check is one load and an exit: it runs with the runtime's default call-counting delay (see CheckRuntime).
CheckRuntime.ReexecIfCheck(args);

// Socket continuations run on the epoll thread instead of hopping to the thread pool: measured as the largest single
// speed-up for a .NET proxy here. The runtime reads this once, when the first socket is created, so lb sets it itself
// before any socket exists rather than leaving it to the operator (an explicit "0" from the environment still wins).
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

// System.CommandLine would answer SIGTERM/SIGINT itself, exiting 143/130 two seconds later whatever the drain is doing;
// lb's host handles those signals (drain up to [server] drain_timeout, a second signal exits at once), so turn it off.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await LbCommandLine.Build().Parse(args).InvokeAsync(invocation).ConfigureAwait(false);
