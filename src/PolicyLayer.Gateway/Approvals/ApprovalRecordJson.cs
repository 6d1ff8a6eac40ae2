using System.Globalization;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>Writes approval records as JSON (by hand: the gateway is published NativeAOT, with no reflection).</summary>
internal static class ApprovalRecordJson
{
    public static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default };

    public static string StatusName(ApprovalStatus status) => status switch
    {
        ApprovalStatus.Pending => "pending",
        ApprovalStatus.Approved => "approved",
        ApprovalStatus.Denied => "denied",
        ApprovalStatus.Expired => "expired",
        _ => "used",
    };

    /// <summary>One record; <paramref name="withArguments"/> writes the arguments whole, as the canonical JSON text.</summary>
    public static void Write(Utf8JsonWriter json, ApprovalRecord record, bool withArguments = true)
    {
        json.WriteStartObject();
        json.WriteString("id", record.Id);
        json.WriteString("status", StatusName(record.Status));
        json.WriteString("tool", record.ToolName);
        if (withArguments)
        {
            json.WriteString("arguments", record.ArgumentsJson);
        }

        json.WriteStartObject("caller");
        WriteOptional(json, "user", record.UserId);
        WriteOptional(json, "grant", record.GrantId);
        WriteOptional(json, "agent", record.AgentId);
        json.WriteEndObject();
        json.WriteString("ruleId", record.RuleId);
        json.WriteString("reason", record.Reason);
        WriteOptional(json, "policyRevision", record.PolicyRevision);
        json.WriteString("createdAt", Time(record.CreatedAt));
        json.WriteString("expiresAt", Time(record.ExpiresAt));
        WriteOptional(json, "decidedBy", record.DecidedBy);
        WriteOptional(json, "decidedAt", record.DecidedAt is { } at ? Time(at) : null);
        WriteOptional(json, "note", record.Note);
        json.WriteEndObject();
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
