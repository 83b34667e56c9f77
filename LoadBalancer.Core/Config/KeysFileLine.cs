using System.Globalization;
using System.Text;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Config;

/// <summary>
/// One key of an <c>access_keys_file</c> or a consumer's <c>keys_file</c>:
/// <c>id sha256 [state=approved|pending|revoked] [created=RFC 3339] [expires=RFC 3339] [approved_by=token-id]</c>.
/// Only the first two fields are required, so a file of plain <c>id sha256</c> lines (before the key lifecycle) is read
/// as before: every key approved, never expiring. The validator and the management API's key writes both go through here,
/// so what the API writes is exactly what a reload reads.
/// </summary>
internal sealed record KeysFileLine(string Id, byte[] Hash, KeyState State, DateTimeOffset? Created, DateTimeOffset? Expires, string? ApprovedBy)
{
    private static readonly string[] StateNames = ["approved", "pending", "revoked"];

    public static string StateName(KeyState state) => StateNames[(int)state];

    /// <summary>Whether the line is a key at all: not blank and not a <c>#</c> comment.</summary>
    public static bool IsKey(string line)
    {
        var trimmed = line.AsSpan().Trim();
        return trimmed.Length > 0 && trimmed[0] != '#';
    }

    /// <summary>The key on <paramref name="line"/> (a key line: see <see cref="IsKey"/>), or why it is not one.</summary>
    public static bool TryParse(string line, out KeysFileLine key, out string error)
    {
        ArgumentNullException.ThrowIfNull(line);
        key = null!;
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !ConfigValidator.TryParseSha256(parts[1], out var hash))
        {
            error = "expected \"<id> <64 hex sha256>\" (then optional state=, created=, expires=, approved_by=)";
            return false;
        }

        var state = KeyState.Approved;
        DateTimeOffset? created = null, expires = null;
        string? approvedBy = null;
        for (var i = 2; i < parts.Length; i++)
        {
            var equals = parts[i].IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? parts[i] : parts[i][..equals];
            var value = equals < 0 ? "" : parts[i][(equals + 1)..];
            switch (name)
            {
                case "state":
                    var index = Array.IndexOf(StateNames, value);
                    if (index < 0)
                    {
                        error = $"state \"{value}\" must be approved, pending or revoked";
                        return false;
                    }

                    state = (KeyState)index;
                    break;
                case "created" or "expires":
                    if (!TryParseTime(value, out var time))
                    {
                        error = $"{name} \"{value}\" must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z";
                        return false;
                    }

                    if (name == "created")
                    {
                        created = time;
                    }
                    else
                    {
                        expires = time;
                    }

                    break;
                case "approved_by" when value.Length > 0:
                    approvedBy = value;
                    break;
                default:
                    error = $"unknown field \"{parts[i]}\" (the fields after id and sha256 are state=, created=, expires=, approved_by=)";
                    return false;
            }
        }

        key = new KeysFileLine(parts[0], hash, state, created, expires, approvedBy);
        error = "";
        return true;
    }

    /// <summary>An RFC 3339 date-time with an offset (or Z), as the API takes and writes <c>expires</c>.</summary>
    public static bool TryParseTime(string value, out DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(value);

        // An offset is required: a bare local time would mean different instants on different machines.
        var hasOffset = value.EndsWith('Z') || value.EndsWith('z') || (value.Length > 6 && value[^6] is '+' or '-' && value[^3] == ':');
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out time) && value.Contains('T', StringComparison.OrdinalIgnoreCase) && hasOffset;
    }

    /// <summary>UTC with a Z; fractions of a second only when it has them, so an <c>expires</c> is kept to the tick.</summary>
    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>The line as the API writes it: the fields in a fixed order, the defaults left out.</summary>
    public string Format()
    {
        var line = new StringBuilder(Id).Append(' ').Append(Convert.ToHexStringLower(Hash));
        if (State != KeyState.Approved)
        {
            line.Append(" state=").Append(StateName(State));
        }

        if (Created is { } created)
        {
            line.Append(" created=").Append(FormatTime(created));
        }

        if (Expires is { } expires)
        {
            line.Append(" expires=").Append(FormatTime(expires));
        }

        if (ApprovedBy is { } approvedBy)
        {
            line.Append(" approved_by=").Append(approvedBy);
        }

        return line.ToString();
    }
}
