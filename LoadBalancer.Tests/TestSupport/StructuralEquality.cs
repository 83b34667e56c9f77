using System.Collections;
using System.Net;
using System.Reflection;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// Deep comparison of two object graphs by their fields (private ones included), for "the incremental compile equals a
/// full compile": the same reference is equal, values compare with Equals, arrays and lists item by item, dictionaries
/// key by key, and every other object field by field. Returns the path of the first difference, or null.
/// </summary>
public static class StructuralEquality
{
    public static string? Difference(object? expected, object? actual)
    {
        var visited = new HashSet<(object, object)>(PairComparer.Instance);
        return Compare(expected, actual, "snapshot", visited, depth: 0);
    }

    private static string? Compare(object? a, object? b, string path, HashSet<(object, object)> visited, int depth)
    {
        if (ReferenceEquals(a, b))
        {
            return null;
        }

        if (a is null || b is null)
        {
            return $"{path}: {Describe(a)} vs {Describe(b)}";
        }

        var type = a.GetType();
        if (type != b.GetType())
        {
            return $"{path}: type {type.Name} vs {b.GetType().Name}";
        }

        if (IsValue(type))
        {
            return a.Equals(b) ? null : $"{path}: {Describe(a)} vs {Describe(b)}";
        }

        if (!type.IsValueType && !visited.Add((a, b)))
        {
            return null; // already being compared further up: a cycle
        }

        if (depth > 64)
        {
            return $"{path}: deeper than 64 levels";
        }

        switch (a)
        {
            case Delegate da:
                var db = (Delegate)b;
                return da.Method != db.Method ? $"{path}: delegate {da.Method.Name} vs {db.Method.Name}" : Compare(da.Target, db.Target, path + ".Target", visited, depth + 1);
            case Array arrayA:
                return CompareSequence(arrayA, (Array)b, path, visited, depth);
            case IDictionary dictionaryA:
                var dictionaryB = (IDictionary)b;
                if (dictionaryA.Count != dictionaryB.Count)
                {
                    return $"{path}: {dictionaryA.Count} entries vs {dictionaryB.Count}";
                }

                foreach (DictionaryEntry entry in dictionaryA)
                {
                    if (!dictionaryB.Contains(entry.Key))
                    {
                        return $"{path}[{entry.Key}]: missing";
                    }

                    if (Compare(entry.Value, dictionaryB[entry.Key], $"{path}[{entry.Key}]", visited, depth + 1) is { } difference)
                    {
                        return difference;
                    }
                }

                return null;
            case IEnumerable sequenceA when type.Namespace?.StartsWith("System.Collections", StringComparison.Ordinal) == true:
                return CompareSequence(sequenceA, (IEnumerable)b, path, visited, depth);
        }

        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (Compare(field.GetValue(a), field.GetValue(b), $"{path}.{FieldName(field)}", visited, depth + 1) is { } difference)
                {
                    return difference;
                }
            }
        }

        return null;
    }

    private static string? CompareSequence(IEnumerable a, IEnumerable b, string path, HashSet<(object, object)> visited, int depth)
    {
        var left = a.Cast<object?>().ToList();
        var right = b.Cast<object?>().ToList();
        if (left.Count != right.Count)
        {
            return $"{path}: {left.Count} items vs {right.Count}";
        }

        for (var i = 0; i < left.Count; i++)
        {
            if (Compare(left[i], right[i], $"{path}[{i}]", visited, depth + 1) is { } difference)
            {
                return difference;
            }
        }

        return null;
    }

    private static bool IsValue(Type type)
        => type.IsPrimitive || type.IsEnum || type.IsPointer || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(UInt128) || type == typeof(Int128)
            || type == typeof(IntPtr) || type == typeof(UIntPtr) || typeof(EndPoint).IsAssignableFrom(type) || type == typeof(IPAddress)
            || type == typeof(Uri) || typeof(Type).IsAssignableFrom(type) || typeof(MemberInfo).IsAssignableFrom(type);

    private static string FieldName(FieldInfo field)
        => field.Name.StartsWith('<') && field.Name.IndexOf('>') is var end and > 0 ? field.Name[1..end] : field.Name;

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        _ => value.ToString() ?? value.GetType().Name,
    };

    private sealed class PairComparer : IEqualityComparer<(object, object)>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals((object, object) x, (object, object) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

        public int GetHashCode((object, object) obj) => HashCode.Combine(
            System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item1),
            System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item2));
    }
}
