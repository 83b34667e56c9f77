using System.Buffers;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// Parses a head at the start of a pipe's buffer into pooled arrays, for a request (client side) or a response
/// (backend side): in place when it lies in one segment, else copied once into a pooled scratch buffer.
/// </summary>
internal static class Http1HeadReader
{
    public static HeadParseStatus Parse(
        in ReadOnlySequence<byte> buffer,
        bool isRequest,
        HttpLimits limits,
        ref HttpMessageHead head,
        ref HeaderLine[]? headers,
        ref byte[]? scratch,
        out ReadOnlyMemory<byte> headMemory)
    {
        if (headers is null || headers.Length < limits.MaxHeaders)
        {
            if (headers is not null)
            {
                EngineBuffers.ReturnHeaders(headers);
            }

            headers = EngineBuffers.RentHeaders(limits.MaxHeaders);
        }

        head = default;
        headMemory = buffer.First;
        var status = TryParse(headMemory.Span, isRequest, limits, ref head, headers);
        if (status != HeadParseStatus.Incomplete || buffer.IsSingleSegment)
        {
            return status;
        }

        var length = (int)Math.Min(buffer.Length, limits.MaxHeadBytes + 1L);
        if (scratch is null || scratch.Length < length)
        {
            if (scratch is not null)
            {
                EngineBuffers.Return(scratch);
            }

            scratch = EngineBuffers.Rent(Math.Max(length, limits.MaxHeadBytes + 1));
        }

        buffer.Slice(0, length).CopyTo(scratch);
        headMemory = scratch.AsMemory(0, length);
        head = default;
        return TryParse(headMemory.Span, isRequest, limits, ref head, headers);
    }

    /// <summary>Returns the arrays <see cref="Parse"/> rented.</summary>
    public static void Release(ref HeaderLine[]? headers, ref byte[]? scratch)
    {
        if (headers is not null)
        {
            EngineBuffers.ReturnHeaders(headers);
            headers = null;
        }

        if (scratch is not null)
        {
            EngineBuffers.Return(scratch);
            scratch = null;
        }
    }

    private static HeadParseStatus TryParse(ReadOnlySpan<byte> data, bool isRequest, HttpLimits limits, ref HttpMessageHead head, HeaderLine[] headers)
        => isRequest
            ? Http1HeadParser.TryParseRequest(data, limits, ref head, headers)
            : Http1HeadParser.TryParseResponse(data, limits, ref head, headers);
}
