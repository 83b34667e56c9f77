using System.Text;

namespace LoadBalancer.Core.Management;

/// <summary>
/// A unified diff (<c>--- a/lb.toml</c>, <c>+++ b/lb.toml</c>, <c>@@ -l,n +l,n @@</c> hunks with 2 lines of context) of
/// two texts by lines. An API edit changes one table, so the common head and tail are cut first and the
/// longest-common-subsequence table only spans the changed middle (up to 2,000 lines a side; beyond that the middle is
/// shown as removed then added).
/// </summary>
public static class LineDiff
{
    private const int Context = 2;
    private const int MaxMiddle = 2000;

    public static string Unified(string before, string after, string name = "lb.toml")
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var a = Lines(before);
        var b = Lines(after);
        var head = 0;
        while (head < a.Length && head < b.Length && a[head] == b[head])
        {
            head++;
        }

        var tail = 0;
        while (tail < a.Length - head && tail < b.Length - head && a[a.Length - 1 - tail] == b[b.Length - 1 - tail])
        {
            tail++;
        }

        if (head == a.Length && head == b.Length)
        {
            return "";
        }

        // One op per line: ' ' kept, '-' removed, '+' added, with the line's index in a (or b for '+').
        var ops = new List<(char Op, int Index)>();
        for (var i = 0; i < head; i++)
        {
            ops.Add((' ', i));
        }

        Middle(a, b, head, a.Length - tail, head, b.Length - tail, ops);
        for (var i = a.Length - tail; i < a.Length; i++)
        {
            ops.Add((' ', i));
        }

        return Format(ops, a, b, name);
    }

    private static void Middle(string[] a, string[] b, int a0, int a1, int b0, int b1, List<(char, int)> ops)
    {
        int n = a1 - a0, m = b1 - b0;
        if (n > MaxMiddle || m > MaxMiddle)
        {
            for (var i = a0; i < a1; i++)
            {
                ops.Add(('-', i));
            }

            for (var j = b0; j < b1; j++)
            {
                ops.Add(('+', j));
            }

            return;
        }

        var lcs = new int[n + 1, m + 1];
        for (var i = n - 1; i >= 0; i--)
        {
            for (var j = m - 1; j >= 0; j--)
            {
                lcs[i, j] = a[a0 + i] == b[b0 + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        int x = 0, y = 0;
        while (x < n || y < m)
        {
            if (x < n && y < m && a[a0 + x] == b[b0 + y])
            {
                ops.Add((' ', a0 + x));
                x++;
                y++;
            }
            else if (x < n && (y == m || lcs[x + 1, y] >= lcs[x, y + 1]))
            {
                ops.Add(('-', a0 + x));
                x++;
            }
            else
            {
                ops.Add(('+', b0 + y));
                y++;
            }
        }
    }

    private static string Format(List<(char Op, int Index)> ops, string[] a, string[] b, string name)
    {
        var text = new StringBuilder().Append("--- a/").Append(name).Append("\n+++ b/").Append(name).Append('\n');
        var i = 0;
        while (i < ops.Count)
        {
            if (ops[i].Op == ' ')
            {
                i++;
                continue;
            }

            // A hunk: from Context kept lines before the first change to Context after the last change that is no
            // more than 2 x Context kept lines from the next.
            var start = Math.Max(0, i - Context);
            var end = i;
            while (end < ops.Count)
            {
                if (ops[end].Op != ' ')
                {
                    end++;
                    continue;
                }

                var run = end;
                while (run < ops.Count && ops[run].Op == ' ')
                {
                    run++;
                }

                if (run == ops.Count || run - end > 2 * Context)
                {
                    end = Math.Min(run, end + Context);
                    break;
                }

                end = run;
            }

            int aStart = -1, bStart = -1, aCount = 0, bCount = 0;
            var body = new StringBuilder();
            var aLine = LineInA(ops, start);
            var bLine = LineInB(ops, start);
            for (var k = start; k < end; k++)
            {
                var (op, index) = ops[k];
                switch (op)
                {
                    case ' ':
                        body.Append(' ').Append(a[index]).Append('\n');
                        aCount++;
                        bCount++;
                        break;
                    case '-':
                        body.Append('-').Append(a[index]).Append('\n');
                        aCount++;
                        break;
                    default:
                        body.Append('+').Append(b[index]).Append('\n');
                        bCount++;
                        break;
                }
            }

            aStart = aCount == 0 ? aLine : aLine + 1;
            bStart = bCount == 0 ? bLine : bLine + 1;
            text.Append("@@ -").Append(aStart).Append(',').Append(aCount).Append(" +").Append(bStart).Append(',').Append(bCount).Append(" @@\n").Append(body);
            i = end;
        }

        return text.ToString();
    }

    /// <summary>The 0-based line of a at which op <paramref name="at"/> starts (lines of a consumed before it).</summary>
    private static int LineInA(List<(char Op, int Index)> ops, int at)
    {
        var count = 0;
        for (var k = 0; k < at; k++)
        {
            if (ops[k].Op != '+')
            {
                count++;
            }
        }

        return count;
    }

    private static int LineInB(List<(char Op, int Index)> ops, int at)
    {
        var count = 0;
        for (var k = 0; k < at; k++)
        {
            if (ops[k].Op != '-')
            {
                count++;
            }
        }

        return count;
    }

    private static string[] Lines(string text)
    {
        if (text.Length == 0)
        {
            return [];
        }

        var lines = text.Split('\n');
        return text.EndsWith('\n') ? lines[..^1] : lines;
    }
}
