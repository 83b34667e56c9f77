using LoadBalancer.Core.Http;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>Checks shared by the request and response head targets.</summary>
internal static class HeadFacts
{
    /// <summary>
    /// Inputs up to this length are re-parsed at every split point; longer ones at the first 256 and 256 spread ones.
    /// The parser is handed the whole buffer again after each read, so the first non-Incomplete answer for any prefix
    /// is what a client delivering in those pieces gets.
    /// </summary>
    public const int EverySplitUpTo = 600;

    public static IEnumerable<int> SplitPoints(int length)
    {
        if (length <= EverySplitUpTo)
        {
            for (int k = 0; k < length; k++)
            {
                yield return k;
            }

            yield break;
        }

        for (int k = 0; k < 256; k++)
        {
            yield return k;
        }

        for (int i = 1; i <= 256; i++)
        {
            yield return 256 + (int)((long)(length - 257) * i / 256);
        }
    }

    /// <summary>Same outcome: status, error status, and for Complete every offset and framing decision.</summary>
    public static bool Same(HeadParseStatus s1, in HttpMessageHead a, HeadParseStatus s2, in HttpMessageHead b)
    {
        if (s1 != s2)
        {
            return false;
        }

        if (s1 == HeadParseStatus.Invalid)
        {
            return a.ErrorStatus == b.ErrorStatus;
        }

        return s1 != HeadParseStatus.Complete
            || (a.HeadLength == b.HeadLength && a.HeaderCount == b.HeaderCount && a.MinorVersion == b.MinorVersion
                && a.Method == b.Method && a.MethodStart == b.MethodStart && a.MethodLength == b.MethodLength
                && a.TargetStart == b.TargetStart && a.TargetLength == b.TargetLength
                && a.AuthorityStart == b.AuthorityStart && a.AuthorityLength == b.AuthorityLength && a.AbsoluteForm == b.AbsoluteForm
                && a.StatusCode == b.StatusCode && a.ContentLength == b.ContentLength && a.Chunked == b.Chunked
                && a.ConnectionClose == b.ConnectionClose && a.Upgrade == b.Upgrade && a.ExpectContinue == b.ExpectContinue);
    }

    public static string Describe(HeadParseStatus status, in HttpMessageHead h) => status switch
    {
        HeadParseStatus.Complete => $"Complete(len={h.HeadLength}, headers={h.HeaderCount}, 1.{h.MinorVersion}, status={h.StatusCode}, cl={h.ContentLength}, chunked={h.Chunked}, authority={h.AuthorityStart}+{h.AuthorityLength}, close={h.ConnectionClose})",
        HeadParseStatus.Invalid => $"Invalid({h.ErrorStatus} {h.ErrorReason})",
        _ => "Incomplete",
    };

    /// <summary>Offsets inside the head, lines ending in CRLF, framing values that can be acted on.</summary>
    public static void Structure(ReadOnlySpan<byte> data, HeadParseStatus status, in HttpMessageHead head, ReadOnlySpan<HeaderLine> headers, HttpLimits limits, bool request)
    {
        if (status == HeadParseStatus.Invalid)
        {
            Check.That(head.ErrorReason is not null, "Invalid without a reason");
            Check.That(request ? head.ErrorStatus is 400 or 414 or 431 or 501 or 505 : head.ErrorStatus == 502, $"Invalid with status {head.ErrorStatus}");
            return;
        }

        if (status != HeadParseStatus.Complete)
        {
            return;
        }

        int n = head.HeadLength;
        Check.That(n >= 4 && n <= data.Length && n <= limits.MaxHeadBytes, $"HeadLength {n} outside the input ({data.Length}) or the limit");
        Check.That(data.Slice(n - 4, 4).SequenceEqual("\r\n\r\n"u8), "head does not end in CRLFCRLF");
        Check.That(data[..(n - 2)].IndexOf("\r\n\r\n"u8) < 0 || IsLeadingEmptyLines(data, n), "head extends past an earlier CRLFCRLF");
        Check.That(head.HeaderCount >= 0 && head.HeaderCount <= limits.MaxHeaders, $"HeaderCount {head.HeaderCount}");
        Check.That(head.MinorVersion is 0 or 1, $"MinorVersion {head.MinorVersion}");
        Check.That(head.ContentLength >= -1, $"ContentLength {head.ContentLength}");
        Check.That(!head.Chunked || head.ContentLength == -1, "Chunked together with a Content-Length");
        int previousEnd = -1;
        for (int i = 0; i < head.HeaderCount; i++)
        {
            HeaderLine line = headers[i];
            Check.That(line.LineStart > previousEnd && line.LineStart + line.LineLength <= n - 2, $"header {i} outside the head");
            Check.That(data.Slice(line.LineStart + line.LineLength - 2, 2).SequenceEqual("\r\n"u8), $"header {i} does not end in CRLF");
            Check.That(line.NameStart == line.LineStart && line.NameLength > 0 && data[line.NameStart + line.NameLength] == (byte)':', $"header {i} name");
            Check.That(line.ValueStart > line.NameStart + line.NameLength && line.ValueStart + line.ValueLength <= line.LineStart + line.LineLength - 2, $"header {i} value");
            previousEnd = line.LineStart + line.LineLength - 1;
        }

        if (request)
        {
            Check.That(head.MethodLength > 0 && head.MethodStart + head.MethodLength < n, "method outside the head");
            Check.That(head.TargetLength > 0 && head.TargetStart + head.TargetLength < n, "target outside the head");
            Check.That(head.AuthorityLength == 0 || head.AuthorityStart + head.AuthorityLength <= n, "authority outside the head");
            Check.That(head.MinorVersion == 0 || head.AuthorityLength > 0, "HTTP/1.1 request accepted without an authority");
        }
        else
        {
            Check.That(head.StatusCode is >= 100 and <= 599, $"StatusCode {head.StatusCode}");
        }
    }

    private static bool IsLeadingEmptyLines(ReadOnlySpan<byte> data, int headLength)
    {
        // "\r\n\r\nGET ..." has a CRLFCRLF at 0 that belongs to the ignored empty lines before the request line.
        int start = 0;
        while (start + 1 < data.Length && data[start] == (byte)'\r' && data[start + 1] == (byte)'\n')
        {
            start += 2;
        }

        return data[start..(headLength - 2)].IndexOf("\r\n\r\n"u8) < 0;
    }
}
