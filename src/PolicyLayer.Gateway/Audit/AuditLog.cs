using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// Writes one JSON line per decision: when, which session and agent, the tool, the outcome (and whether shadow mode
/// let the call through regardless), the rule and reason, and the names of the arguments. Never argument values (they may hold secrets or personal data)
/// and never the grant (it may be a credential).
/// </summary>
internal sealed class AuditLog(TextWriter writer, TimeProvider time, string sessionId)
{
    private readonly Lock _lock = new();

    public void Write(in AuditEntry entry)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("time", time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("session", sessionId);
            WriteOptional(json, "agent", entry.Agent);
            json.WritePropertyName("id");
            if (entry.Id.IsEmpty)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteRawValue(entry.Id.Span, skipInputValidation: true);
            }

            json.WriteString("tool", entry.Tool);
            json.WriteString("outcome", OutcomeName(entry.Outcome));
            json.WriteBoolean("shadowed", entry.Shadowed);
            json.WriteString("rule", entry.Rule);
            json.WriteString("reason", entry.Reason);
            if (entry.RetryAfter is { } retry)
            {
                json.WriteNumber("retryAfterSeconds", Math.Round(retry.TotalSeconds, 3));
            }

            WriteOptional(json, "approval", entry.Approval);
            json.WriteStartArray("argumentKeys");
            if (entry.Arguments is { } arguments)
            {
                foreach (var key in arguments.Keys)
                {
                    json.WriteStringValue(key);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var line = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    internal static string OutcomeName(PolicyOutcome outcome) => outcome switch
    {
        PolicyOutcome.Allow => "allow",
        PolicyOutcome.RequireApproval => "require_approval",
        _ => "deny",
    };

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
