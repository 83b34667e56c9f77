using System.Runtime.CompilerServices;

namespace LoadBalancer.Fuzz;

/// <summary>Property assertions. The message is built only on failure, so a passing run costs a compare.</summary>
internal static class Check
{
    public static void That(bool condition, string property)
    {
        if (!condition)
        {
            throw new PropertyViolation(property);
        }
    }

    public static void That(bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref FailureMessage message)
    {
        if (!condition)
        {
            throw new PropertyViolation(message.ToStringAndClear());
        }
    }

    /// <summary>GC.GetAllocatedBytesForCurrentThread grew by at most <paramref name="bound"/> since <paramref name="before"/>.</summary>
    public static void Allocated(long before, long bound, string what)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > bound)
        {
            throw new PropertyViolation($"{what} allocated {allocated} bytes (bound {bound})");
        }
    }

    /// <summary>Printable form of input bytes for a violation message.</summary>
    public static string Show(ReadOnlySpan<byte> bytes)
    {
        var text = new System.Text.StringBuilder(bytes.Length + 2);
        text.Append('"');
        foreach (byte b in bytes[..Math.Min(bytes.Length, 300)])
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\t' => "\\t",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }

        text.Append(bytes.Length > 300 ? "\"..." : "\"");
        return text.ToString();
    }
}
