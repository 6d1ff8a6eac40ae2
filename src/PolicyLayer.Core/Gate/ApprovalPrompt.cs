using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Gate;

/// <summary>
/// What the person asked to approve a call sees, for every host: the tool, why approval is needed, and every argument
/// value by its full path. Nothing is cut silently: a long value is shortened on its own line and says so; a call with
/// more values than a person can review is not put to them at all.
/// </summary>
internal static class ApprovalPrompt
{
    /// <summary>The boolean field the person ticks to approve.</summary>
    public const string ApproveField = "approve";

    /// <summary>The most argument values one prompt shows; a call with more is refused rather than shown in part.</summary>
    public const int MaxValues = 100;

    /// <summary>The longest value shown whole, in characters of its JSON text.</summary>
    public const int MaxValueChars = 200;

    private const int MaxNameChars = 100;

    /// <summary>
    /// The prompt's text, or null when the call has more than <see cref="MaxValues"/> argument values
    /// (<paramref name="problem"/> then says so, for the agent).
    /// </summary>
    public static string? TryCreateMessage(ToolCall call, string reason, out string? problem)
    {
        var lines = new List<string>();
        if (call.Arguments is { } arguments)
        {
            foreach (var (name, value) in arguments)
            {
                if (!Collect(value, Name(name), lines))
                {
                    problem = string.Create(CultureInfo.InvariantCulture, $"The call has more than {MaxValues} argument values, more than a person can review in one approval request, so nobody is asked.");
                    return null;
                }
            }
        }

        var text = new StringBuilder();
        text.Append("The agent wants to call the tool '").Append(call.ToolName).Append("'.\n");
        text.Append("Why approval is needed: ").Append(reason).Append('\n');
        if (lines.Count == 0)
        {
            text.Append("Arguments: (none)\n");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"Arguments ({lines.Count} values, each shown by its full name):\n");
            foreach (var line in lines)
            {
                text.Append("  ").Append(line).Append('\n');
            }
        }

        text.Append("Approve this call?");
        problem = null;
        return text.ToString();
    }

    /// <summary>Writes the params of an <c>elicitation/create</c> request that asks about a call of <paramref name="toolName"/> with <paramref name="message"/>.</summary>
    public static void WriteElicitationParams(Utf8JsonWriter json, string toolName, string message)
    {
        json.WriteStartObject();
        json.WriteString("message", message);
        json.WriteStartObject("requestedSchema");
        json.WriteString("type", "object");
        json.WriteStartObject("properties");
        json.WriteStartObject(ApproveField);
        json.WriteString("type", "boolean");
        json.WriteString("title", "Approve");
        json.WriteString("description", $"Let the agent call '{toolName}' once, with these arguments.");
        json.WriteBoolean("default", false);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartArray("required");
        json.WriteStringValue(ApproveField);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The params of the <c>elicitation/create</c> request, as a JSON element.</summary>
    public static JsonElement ElicitationParams(string toolName, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(message.Length + 512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteElicitationParams(json, toolName, message);
        }

        return JsonElement.Parse(buffer.WrittenSpan);
    }

    /// <summary>
    /// Reads the person's answer (an elicitation result: <c>action</c>, <c>content</c>): approved only when they
    /// accepted with <c>approve: true</c>. <paramref name="why"/> says what happened otherwise.
    /// </summary>
    public static bool IsApproved(JsonElement answer, out RefusalKind kind, out string why)
    {
        kind = RefusalKind.ApprovalDeclined;
        if (answer.ValueKind != JsonValueKind.Object || !answer.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.String)
        {
            why = "The client's answer to the approval request could not be read.";
            return false;
        }

        if (action.ValueEquals("accept"))
        {
            if (answer.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object
                && content.TryGetProperty(ApproveField, out var approve) && approve.ValueKind == JsonValueKind.True)
            {
                why = "Approved by the person at the client.";
                return true;
            }

            why = "The person at the client did not tick 'approve'.";
            return false;
        }

        why = action.ValueEquals("decline")
            ? "The person at the client declined this call."
            : "The person at the client cancelled the approval request.";
        return false;
    }

    // Adds one line per leaf value under path; false once there are more than MaxValues.
    private static bool Collect(JsonElement value, string path, List<string> lines)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object when value.EnumerateObject().Any():
                foreach (var member in value.EnumerateObject())
                {
                    if (!Collect(member.Value, path + "." + Name(member.Name), lines))
                    {
                        return false;
                    }
                }

                return true;
            case JsonValueKind.Array when value.GetArrayLength() > 0:
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (!Collect(item, string.Create(CultureInfo.InvariantCulture, $"{path}[{index++}]"), lines))
                    {
                        return false;
                    }
                }

                return true;
            default:
                if (lines.Count == MaxValues)
                {
                    return false;
                }

                lines.Add(path + " = " + Value(value));
                return true;
        }
    }

    private static string Value(JsonElement value)
    {
        var raw = value.GetRawText();
        return raw.Length <= MaxValueChars
            ? raw
            : string.Create(CultureInfo.InvariantCulture, $"{raw.AsSpan(0, MaxValueChars)}… (shortened: {raw.Length} characters in all)");
    }

    private static string Name(string name) =>
        name.Length <= MaxNameChars
            ? name
            : string.Create(CultureInfo.InvariantCulture, $"{name.AsSpan(0, MaxNameChars)}…(a name of {name.Length} characters)");
}
