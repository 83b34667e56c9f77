using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using LoadBalancer.Core.Admin;

namespace LoadBalancer.Core.Management;

/// <summary>The management API's JSON: indented, relaxed escaping (people read it), <c>{"error": ...}</c> for refusals.</summary>
public static class ManagementJson
{
    public static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static AdminResponse Error(int status, string message) => AdminResponse.Json(status, Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("error", message);
        writer.WriteEndObject();
    }));

    public static string Write(Action<Utf8JsonWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }
}
