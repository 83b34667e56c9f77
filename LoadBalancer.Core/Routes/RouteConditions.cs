using System.Text;
using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Routes;

/// <summary>
/// What a route matches: an exact <c>path</c> or a <c>path_prefix</c> (on a <c>/</c> boundary, case-sensitive), and
/// optionally <c>methods</c> and <c>headers</c> (each configured field present with exactly that value). The path is
/// found by <see cref="RouteTable"/>; this checks the rest, reading only the request view.
/// </summary>
public sealed class RouteConditions
{
    public RouteConditions(bool exact, string path, byte[][]? methods, (byte[] Name, byte[] Value)[] headers)
    {
        Exact = exact;
        Path = path;
        Methods = methods;
        Headers = headers;
    }

    /// <summary>True for <c>path</c>, false for <c>path_prefix</c>.</summary>
    public bool Exact { get; }

    /// <summary>Normalized: a prefix has no trailing <c>/</c> (except <c>/</c> itself).</summary>
    public string Path { get; }

    /// <summary>Null when any method matches; compared case-sensitively (RFC 9110 section 9.1).</summary>
    public byte[][]? Methods { get; }

    /// <summary>Names compare case-insensitively, values byte for byte.</summary>
    public (byte[] Name, byte[] Value)[] Headers { get; }

    /// <summary>The conditions besides the path: methods count as one, each header as one (precedence: more first).</summary>
    public int Count => (Methods is null ? 0 : 1) + Headers.Length;

    /// <summary>Whether the request's method and fields meet the conditions (its path already matched).</summary>
    public bool Matches(in RequestView request)
    {
        if (Methods is { } methods && !HasMethod(methods, request.MethodName))
        {
            return false;
        }

        foreach (var (name, value) in Headers)
        {
            if (!HasField(request, name, value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasMethod(byte[][] methods, ReadOnlySpan<byte> method)
    {
        foreach (var candidate in methods)
        {
            if (method.SequenceEqual(candidate))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasField(in RequestView request, byte[] name, byte[] value)
    {
        var source = request.Source;
        foreach (ref readonly var field in request.Fields)
        {
            if (field.NameLength == name.Length
                && field.ValueLength == value.Length
                && Ascii.EqualsIgnoreCase(source.Slice(field.NameStart, field.NameLength), name)
                && source.Slice(field.ValueStart, field.ValueLength).SequenceEqual(value))
            {
                return true;
            }
        }

        return false;
    }
}
