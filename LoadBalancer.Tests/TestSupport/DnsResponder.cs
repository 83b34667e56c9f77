using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A small authoritative DNS server on 127.0.0.1 (UDP, a fresh port) for backend-name tests: answers A and AAAA
/// queries from a table the test changes while it runs (addresses, TTL), NXDOMAIN for names marked so (and for names
/// it does not know), SERVFAIL or silence on demand. Counts queries per name, so a test can wait for a re-resolution.
/// RFC 1035 section 4.1 wire format, one question per query, answers with a compression pointer to the question.
/// </summary>
public sealed class DnsResponder : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ConcurrentDictionary<string, Entry> _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _queries = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly SemaphoreSlim _queried = new(0, int.MaxValue);
    private readonly ConcurrentDictionary<string, List<TimeSpan>> _aQueries = new(StringComparer.OrdinalIgnoreCase);
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private DnsResponder()
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _loop = Task.Run(RunAsync);
    }

    public static DnsResponder Start() => new();

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>For lb.toml: <c>[dns] servers = ["127.0.0.1:PORT"]</c>.</summary>
    public string Server => $"127.0.0.1:{EndPoint.Port}";

    /// <summary>Answers <paramref name="name"/> with these addresses (A for IPv4, AAAA for IPv6) and TTL from now on.</summary>
    public void Set(string name, int ttl, params IPAddress[] addresses) => _names[name] = new Entry(Mode.Answer, ttl, addresses);

    /// <summary>Answers NXDOMAIN for <paramref name="name"/> from now on.</summary>
    public void SetNxDomain(string name) => _names[name] = new Entry(Mode.NxDomain, 0, []);

    /// <summary>Answers SERVFAIL for <paramref name="name"/> from now on.</summary>
    public void SetServerFailure(string name) => _names[name] = new Entry(Mode.ServerFailure, 0, []);

    /// <summary>Queries (A and AAAA each count) received for <paramref name="name"/> so far.</summary>
    public int Queries(string name) => _queries.TryGetValue(name, out var n) ? n : 0;

    /// <summary>When each A query for <paramref name="name"/> arrived (one per resolution: lb asks A and AAAA together), since the server started.</summary>
    public IReadOnlyList<TimeSpan> ResolutionTimes(string name)
    {
        if (!_aQueries.TryGetValue(name, out var times))
        {
            return [];
        }

        lock (times)
        {
            return [.. times];
        }
    }

    /// <summary>Waits until <paramref name="name"/> has been queried more than <paramref name="after"/> times.</summary>
    public async Task WaitForQueriesAsync(string name, int after, CancellationToken cancellationToken)
    {
        while (Queries(name) <= after)
        {
            await _queried.WaitAsync(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    private async Task RunAsync()
    {
        var buffer = new byte[512];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            var arrived = _clock.Elapsed;
            var reply = Answer(buffer.AsSpan(0, received.ReceivedBytes), out var name, out var type);
            if (name is not null)
            {
                if (type == 1)
                {
                    var times = _aQueries.GetOrAdd(name, static _ => []);
                    lock (times)
                    {
                        times.Add(arrived);
                    }
                }

                _queries.AddOrUpdate(name, 1, (_, n) => n + 1);
                _queried.Release();
            }

            if (reply is not null)
            {
                try
                {
                    await _socket.SendToAsync(reply, SocketFlags.None, received.RemoteEndPoint, _stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    // Stopping, or the client went away.
                }
            }
        }
    }

    private byte[]? Answer(ReadOnlySpan<byte> query, out string? name, out int type)
    {
        name = null;
        type = 0;
        if (query.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(query[4..]) != 1)
        {
            return null;
        }

        // The question: labels up to a zero byte, then QTYPE and QCLASS.
        var labels = new List<string>();
        var at = 12;
        while (at < query.Length && query[at] != 0)
        {
            var length = query[at];
            if (length > 63 || at + 1 + length > query.Length)
            {
                return null;
            }

            labels.Add(Encoding.ASCII.GetString(query.Slice(at + 1, length)));
            at += 1 + length;
        }

        if (at + 5 > query.Length)
        {
            return null;
        }

        var questionEnd = at + 5;
        type = BinaryPrimitives.ReadUInt16BigEndian(query[(at + 1)..]);
        name = string.Join('.', labels);
        var entry = _names.TryGetValue(name, out var known) ? known : new Entry(Mode.NxDomain, 0, []);
        if (entry.Mode == Mode.Silent)
        {
            return null;
        }

        var family = type == 28 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        var records = entry.Mode == Mode.Answer && type is 1 or 28 ? entry.Addresses.Where(a => a.AddressFamily == family).ToArray() : [];
        var rcode = entry.Mode switch
        {
            Mode.NxDomain => 3,
            Mode.ServerFailure => 2,
            _ => 0,
        };

        var reply = new List<byte>(questionEnd + (records.Length * 28));
        reply.AddRange(query[..2].ToArray()); // id
        var rd = query[2] & 0x01;
        reply.Add((byte)(0x80 | 0x04 | rd)); // QR, AA, RD as asked
        reply.Add((byte)(0x80 | rcode)); // RA, RCODE
        reply.AddRange([0, 1]); // QDCOUNT
        reply.AddRange([(byte)(records.Length >> 8), (byte)records.Length]); // ANCOUNT
        reply.AddRange([0, 0, 0, 0]); // NSCOUNT, ARCOUNT
        reply.AddRange(query[12..questionEnd].ToArray());
        foreach (var address in records)
        {
            var bytes = address.GetAddressBytes();
            reply.AddRange([0xC0, 12]); // the question's name
            reply.AddRange([(byte)(type >> 8), (byte)type, 0, 1]);
            var ttl = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(ttl, entry.Ttl);
            reply.AddRange(ttl);
            reply.AddRange([(byte)(bytes.Length >> 8), (byte)bytes.Length]);
            reply.AddRange(bytes);
        }

        return [.. reply];
    }

    /// <summary>Stops answering <paramref name="name"/> at all (queries time out).</summary>
    public void SetSilent(string name) => _names[name] = new Entry(Mode.Silent, 0, []);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _loop;
        _stop.Dispose();
        _queried.Dispose();
    }

    private enum Mode
    {
        Answer,
        NxDomain,
        ServerFailure,
        Silent,
    }

    private sealed record Entry(Mode Mode, int Ttl, IPAddress[] Addresses);
}
