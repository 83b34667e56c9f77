using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace LoadBalancer.Core.Dns;

/// <summary>
/// One resolution of a name: an A and an AAAA query through DnsClient, which parses the answers and gives each
/// record's TTL (<c>Dns.GetHostAddressesAsync</c> gives no TTL, and the resolver must follow them). No cache: the
/// resolver is the cache, and it asks again when the TTL runs out.
/// </summary>
internal static class DnsLookup
{
    /// <summary>Per query, with one retry: a silent server costs a round at most about 4 s.</summary>
    internal static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(2);

    public static LookupClient CreateClient(DnsSettings settings)
    {
        var options = settings.Servers.Count > 0
            ? new LookupClientOptions([.. settings.Servers])
            : new LookupClientOptions(); // the system's name servers (resolv.conf)
        options.UseCache = false;
        options.Timeout = QueryTimeout;
        options.Retries = 1;
        options.ThrowDnsErrors = false;
        options.UseTcpFallback = true;
        return new LookupClient(options);
    }

    public static async Task<Outcome> ResolveAsync(ILookupClient client, string host, CancellationToken cancellationToken)
    {
        var a = QueryAsync(client, host, QueryType.A, cancellationToken);
        var aaaa = QueryAsync(client, host, QueryType.AAAA, cancellationToken);
        var answers = await Task.WhenAll(a, aaaa).ConfigureAwait(false);

        var addresses = new List<IPAddress>();
        var ttl = int.MaxValue;
        var nxDomain = false;
        var noData = 0;
        string? reason = null;
        foreach (var (response, error) in answers)
        {
            if (response is null)
            {
                reason ??= error;
                continue;
            }

            if (response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain)
            {
                nxDomain = true;
                reason ??= "NXDOMAIN";
                continue;
            }

            if (response.HasError)
            {
                reason ??= response.ErrorMessage;
                continue;
            }

            var before = addresses.Count;
            foreach (var record in response.Answers)
            {
                IPAddress? address = record switch
                {
                    ARecord r => r.Address,
                    AaaaRecord r => r.Address,
                    _ => null,
                };
                if (address is not null && !addresses.Contains(address))
                {
                    addresses.Add(address);
                    ttl = Math.Min(ttl, Math.Max(0, record.TimeToLive));
                }
            }

            if (addresses.Count == before)
            {
                noData++;
            }
        }

        if (addresses.Count > 0)
        {
            // Sorted, so that an unchanged answer in another order is recognised as unchanged.
            addresses.Sort(static (x, y) => x.AddressFamily != y.AddressFamily
                ? x.AddressFamily.CompareTo(y.AddressFamily)
                : x.GetAddressBytes().AsSpan().SequenceCompareTo(y.GetAddressBytes()));
            return new Outcome(DnsResult.Ok, addresses, TimeSpan.FromSeconds(ttl), null);
        }

        if (nxDomain)
        {
            return new Outcome(DnsResult.NxDomain, addresses, TimeSpan.Zero, "the name does not exist");
        }

        return noData == answers.Length
            ? new Outcome(DnsResult.Empty, addresses, TimeSpan.Zero, "no A or AAAA record")
            : new Outcome(DnsResult.Failed, addresses, TimeSpan.Zero, reason ?? "no answer");
    }

    private static async Task<(IDnsQueryResponse? Response, string? Error)> QueryAsync(ILookupClient client, string host, QueryType type, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.QueryAsync(host, type, QueryClass.IN, cancellationToken).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is DnsResponseException or System.Net.Sockets.SocketException or IOException or OperationCanceledException or InvalidOperationException or ArgumentException)
        {
            // A timeout, an unreachable server or a reply DnsClient could not parse: a failed resolution, not a crash.
            return (null, $"{type}: {ex.Message}");
        }
    }

    /// <param name="Ttl">The smallest TTL of the records, before clamping.</param>
    internal sealed record Outcome(DnsResult Result, List<IPAddress> Addresses, TimeSpan Ttl, string? Reason);
}
