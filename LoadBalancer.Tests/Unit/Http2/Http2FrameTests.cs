using System.Buffers;
using LoadBalancer.Core.Http2.Frames;

namespace LoadBalancer.Tests.Unit.Http2;

/// <summary>The HTTP/2 frame layer without sockets: the 9-byte header, each type's RFC 9113 section 6 rules, SETTINGS, and lb's writers.</summary>
[TestFixture]
public sealed class Http2FrameTests
{
    private static byte[] Frame(Http2FrameType type, byte flags, int streamId, params byte[] payload)
    {
        var bytes = new byte[Http2FrameHeader.Size + payload.Length];
        Http2FrameWriter.WriteHeader(bytes, payload.Length, type, flags, streamId);
        payload.CopyTo(bytes, Http2FrameHeader.Size);
        return bytes;
    }

    private static (Http2ReadStatus Status, Http2FrameHeader Header, Http2Fault Fault, byte[] Payload) Read(byte[] bytes, int maxFrameSize = 16384)
    {
        var status = Http2FrameReader.TryRead(new ReadOnlySequence<byte>(bytes), maxFrameSize, out var header, out var payload, out var fault);
        return (status, header, fault, payload.ToArray());
    }

    [Test]
    public void Header_RoundTripsAndIgnoresTheReservedBit()
    {
        var bytes = new byte[9];
        new Http2FrameHeader(0xABCDEF, Http2FrameType.Headers, 0x25, 0x7FFF_FFFF).Write(bytes);
        Assert.That(Convert.ToHexString(bytes), Is.EqualTo("ABCDEF01257FFFFFFF"));
        bytes[5] |= 0x80;
        Assert.That(Http2FrameHeader.TryRead(bytes, out var header), Is.True);
        Assert.That(header, Is.EqualTo(new Http2FrameHeader(0xABCDEF, Http2FrameType.Headers, 0x25, 0x7FFF_FFFF)));
        Assert.That(Http2FrameHeader.TryRead(bytes.AsSpan(0, 8), out _), Is.False);
    }

    [Test]
    public void TryRead_NeedsTheWholeFrameAtEverySplitAndRefusesOversizeAtOnce()
    {
        var frame = Frame(Http2FrameType.Ping, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8);
        for (var k = 0; k < frame.Length; k++)
        {
            Assert.That(Read(frame[..k]).Status, Is.EqualTo(Http2ReadStatus.NeedMore), $"{k} bytes");
        }

        var (status, header, _, payload) = Read(frame);
        Assert.That(status, Is.EqualTo(Http2ReadStatus.Frame));
        Assert.That((header.Type, header.Length), Is.EqualTo((Http2FrameType.Ping, 8)));
        Assert.That(payload, Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }));

        // Only the header is there, and it announces more than SETTINGS_MAX_FRAME_SIZE: refused before buffering.
        var big = new byte[9];
        Http2FrameWriter.WriteHeader(big, 16385, Http2FrameType.Data, 0, 1);
        var oversize = Read(big);
        Assert.That((oversize.Status, oversize.Fault.Code, oversize.Fault.StreamOnly), Is.EqualTo((Http2ReadStatus.Fault, Http2ErrorCode.FrameSizeError, false)));
    }

    [Test]
    public void TryRead_FindsAFrameSplitAcrossSegments()
    {
        var frame = Frame(Http2FrameType.WindowUpdate, 0, 3, 0, 0, 0x10, 0);
        var first = new TestSegment(frame.AsMemory(0, 4));
        var last = first.Append(frame.AsMemory(4));
        var sequence = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        Assert.That(Http2FrameReader.TryRead(sequence, 16384, out var header, out var payload, out _), Is.EqualTo(Http2ReadStatus.Frame));
        Assert.That((header.StreamId, payload.Length), Is.EqualTo((3, 4L)));
    }

    // Each row: a frame, then the expected code and whether only the stream fails (section 6 of RFC 9113).
    private static IEnumerable<TestCaseData> Rules()
    {
        TestCaseData Row(string name, byte[] frame, Http2ErrorCode code, bool streamOnly = false)
            => new TestCaseData(frame, (uint)code, streamOnly).SetName("Rule_" + name);

        yield return Row("DataOnStream0", Frame(Http2FrameType.Data, 0, 0, 1), Http2ErrorCode.ProtocolError);
        yield return Row("DataPaddingTooLong", Frame(Http2FrameType.Data, Http2Flags.Padded, 1, 3, 0, 0), Http2ErrorCode.ProtocolError);
        yield return Row("DataPaddedWithoutPadLength", Frame(Http2FrameType.Data, Http2Flags.Padded, 1), Http2ErrorCode.FrameSizeError);
        yield return Row("DataPaddingFillsPayload", Frame(Http2FrameType.Data, Http2Flags.Padded, 1, 2, 0, 0), Http2ErrorCode.NoError);
        yield return Row("HeadersOnStream0", Frame(Http2FrameType.Headers, 0, 0, 0x82), Http2ErrorCode.ProtocolError);
        yield return Row("HeadersPriorityTooShort", Frame(Http2FrameType.Headers, Http2Flags.Priority, 1, 0, 0, 0), Http2ErrorCode.FrameSizeError);
        yield return Row("HeadersDependsOnItself", Frame(Http2FrameType.Headers, Http2Flags.Priority, 3, 0, 0, 0, 3, 16, 0x82), Http2ErrorCode.ProtocolError, true);
        yield return Row("HeadersPaddedPriorityOk", Frame(Http2FrameType.Headers, Http2Flags.Priority | Http2Flags.Padded, 3, 1, 0, 0, 0, 1, 16, 0x82, 0), Http2ErrorCode.NoError);
        yield return Row("PriorityLength", Frame(Http2FrameType.Priority, 0, 1, 0, 0, 0, 0), Http2ErrorCode.FrameSizeError, true);
        yield return Row("PriorityOnStream0", Frame(Http2FrameType.Priority, 0, 0, 0, 0, 0, 1, 16), Http2ErrorCode.ProtocolError);
        yield return Row("PriorityDependsOnItself", Frame(Http2FrameType.Priority, 0, 5, 0x80, 0, 0, 5, 16), Http2ErrorCode.ProtocolError, true);
        yield return Row("RstStreamOnStream0", Frame(Http2FrameType.RstStream, 0, 0, 0, 0, 0, 8), Http2ErrorCode.ProtocolError);
        yield return Row("RstStreamLength", Frame(Http2FrameType.RstStream, 0, 1, 0, 0, 8), Http2ErrorCode.FrameSizeError);
        yield return Row("SettingsOnAStream", Frame(Http2FrameType.Settings, 0, 1), Http2ErrorCode.ProtocolError);
        yield return Row("SettingsAckWithPayload", Frame(Http2FrameType.Settings, Http2Flags.Ack, 0, 0, 1, 0, 0, 0, 0), Http2ErrorCode.FrameSizeError);
        yield return Row("SettingsLength", Frame(Http2FrameType.Settings, 0, 0, 0, 1, 0, 0, 0), Http2ErrorCode.FrameSizeError);
        yield return Row("PushPromise", Frame(Http2FrameType.PushPromise, Http2Flags.EndHeaders, 1, 0, 0, 0, 2, 0x82), Http2ErrorCode.ProtocolError);
        yield return Row("PingOnAStream", Frame(Http2FrameType.Ping, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), Http2ErrorCode.ProtocolError);
        yield return Row("PingLength", Frame(Http2FrameType.Ping, 0, 0, 0, 0, 0, 0), Http2ErrorCode.FrameSizeError);
        yield return Row("GoAwayOnAStream", Frame(Http2FrameType.GoAway, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), Http2ErrorCode.ProtocolError);
        yield return Row("GoAwayLength", Frame(Http2FrameType.GoAway, 0, 0, 0, 0, 0, 0), Http2ErrorCode.FrameSizeError);
        yield return Row("WindowUpdateLength", Frame(Http2FrameType.WindowUpdate, 0, 0, 0, 0, 1), Http2ErrorCode.FrameSizeError);
        yield return Row("WindowUpdateOf0OnConnection", Frame(Http2FrameType.WindowUpdate, 0, 0, 0, 0, 0, 0), Http2ErrorCode.ProtocolError);
        yield return Row("WindowUpdateOf0OnStream", Frame(Http2FrameType.WindowUpdate, 0, 7, 0x80, 0, 0, 0), Http2ErrorCode.ProtocolError, true);
        yield return Row("ContinuationOnStream0", Frame(Http2FrameType.Continuation, 0, 0, 0x82), Http2ErrorCode.ProtocolError);
        yield return Row("UnknownTypeIgnored", Frame((Http2FrameType)0xEE, 0xFF, 0, 1, 2, 3), Http2ErrorCode.NoError);
    }

    [TestCaseSource(nameof(Rules))]
    public void Rule(byte[] frame, uint expectedCode, bool streamOnly)
    {
        var code = (Http2ErrorCode)expectedCode;
        var (status, _, fault, _) = Read(frame);
        Assert.That(fault.Code, Is.EqualTo(code), fault.Reason);
        Assert.That(status, Is.EqualTo(code == Http2ErrorCode.NoError ? Http2ReadStatus.Frame : Http2ReadStatus.Fault));
        if (code != Http2ErrorCode.NoError)
        {
            Assert.That(fault.StreamOnly, Is.EqualTo(streamOnly));
            Assert.That(fault.Reason, Is.Not.Empty);
        }
    }

    [Test]
    public void Content_StripsPadLengthPriorityAndPadding()
    {
        var frame = Frame(Http2FrameType.Headers, Http2Flags.Priority | Http2Flags.Padded, 3, 2, 0, 0, 0, 1, 16, 0x82, 0x86, 0, 0);
        var status = Http2FrameReader.TryRead(new ReadOnlySequence<byte>(frame), 16384, out var header, out var payload, out _);
        Assert.That(status, Is.EqualTo(Http2ReadStatus.Frame));
        Assert.That(Http2FrameReader.Content(header, payload).ToArray(), Is.EqualTo(new byte[] { 0x82, 0x86 }));

        var data = Frame(Http2FrameType.Data, Http2Flags.Padded | Http2Flags.EndStream, 1, 1, (byte)'h', (byte)'i', 0);
        Http2FrameReader.TryRead(new ReadOnlySequence<byte>(data), 16384, out header, out payload, out _);
        Assert.That(Http2FrameReader.Content(header, payload).ToArray(), Is.EqualTo("hi"u8.ToArray()));
    }

    [Test]
    public void Settings_ApplyKnownValuesIgnoreUnknownAndRefuseBadOnes()
    {
        var settings = new Http2Settings();
        var payload = new byte[] { 0, 3, 0, 0, 0, 100, 0, 4, 0, 1, 0, 0, 0, 0x99, 1, 2, 3, 4, 0, 5, 0, 0, 0x40, 0 };
        Assert.That(settings.Apply(payload).IsFault, Is.False);
        Assert.That((settings.MaxConcurrentStreams, settings.InitialWindowSize, settings.MaxFrameSize), Is.EqualTo((100u, 65536, 16384)));

        Assert.That(new Http2Settings().Apply([0, 2, 0, 0, 0, 2]).Code, Is.EqualTo(Http2ErrorCode.ProtocolError), "ENABLE_PUSH 2");
        Assert.That(new Http2Settings().Apply([0, 4, 0x80, 0, 0, 0]).Code, Is.EqualTo(Http2ErrorCode.FlowControlError), "window 2^31");
        Assert.That(new Http2Settings().Apply([0, 5, 0, 0, 0x3f, 0xff]).Code, Is.EqualTo(Http2ErrorCode.ProtocolError), "frame size 16383");
        Assert.That(new Http2Settings().Apply([0, 5, 1, 0, 0, 0]).Code, Is.EqualTo(Http2ErrorCode.ProtocolError), "frame size 2^24");
    }

    [Test]
    public void Writers_ProduceFramesTheReaderAccepts()
    {
        var buffer = new byte[128];
        var lbSettings = new Http2Settings { EnablePush = false, MaxConcurrentStreams = 100, InitialWindowSize = 1 << 20, MaxHeaderListSize = 16384 };
        var n = Http2FrameWriter.WriteSettings(buffer, lbSettings);
        var (status, header, _, payload) = Read(buffer[..n]);
        Assert.That((status, header.Type, header.Length), Is.EqualTo((Http2ReadStatus.Frame, Http2FrameType.Settings, 24)));
        var peer = new Http2Settings();
        Assert.That(peer.Apply(payload).IsFault, Is.False);
        Assert.That(peer, Is.EqualTo(lbSettings));

        Assert.That(Read(buffer[..Http2FrameWriter.WriteSettingsAck(buffer)]).Header.Flags, Is.EqualTo(Http2Flags.Ack));
        n = Http2FrameWriter.WritePing(buffer, ack: true, "12345678"u8);
        Assert.That(Read(buffer[..n]).Payload, Is.EqualTo("12345678"u8.ToArray()));
        n = Http2FrameWriter.WriteGoAway(buffer, 7, Http2ErrorCode.EnhanceYourCalm);
        Assert.That(Convert.ToHexString(buffer, 0, n), Is.EqualTo("000008070000000000000000070000000B"));
        n = Http2FrameWriter.WriteRstStream(buffer, 5, Http2ErrorCode.RefusedStream);
        Assert.That(Read(buffer[..n]).Status, Is.EqualTo(Http2ReadStatus.Frame));
        n = Http2FrameWriter.WriteWindowUpdate(buffer, 0, 1 << 20);
        Assert.That(Read(buffer[..n]).Status, Is.EqualTo(Http2ReadStatus.Frame));
        Assert.That(Http2FrameWriter.ClientPreface.Length, Is.EqualTo(24));
    }

    private sealed class TestSegment : ReadOnlySequenceSegment<byte>
    {
        public TestSegment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public TestSegment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new TestSegment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
