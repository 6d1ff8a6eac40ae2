using System.Text.Json;

namespace PolicyLayer.Cli.Proxy;

/// <summary>Reads tool descriptors from tools/list results and filters those results through the policy.</summary>
internal static class ToolListing
{
    /// <summary>Reads one entry of a tools/list result; <see langword="null"/> when it has no usable name.</summary>
    public static ToolDescriptor? ReadDescriptor(JsonElement tool) => Common.ToolJson.ReadDescriptor(tool);

    /// <summary>
    /// Adds the tools of a tools/list <paramref name="result"/> to <paramref name="into"/> and returns the
    /// cursor of the next page, if any.
    /// </summary>
    public static string? ReadPage(JsonElement result, Dictionary<string, ToolDescriptor> into)
    {
        if (result.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (result.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in tools.EnumerateArray())
            {
                if (ReadDescriptor(tool) is { } descriptor)
                {
                    into[descriptor.Name] = descriptor;
                }
            }
        }

        return result.TryGetProperty("nextCursor", out var cursor) && cursor.ValueKind == JsonValueKind.String ? cursor.GetString() : null;
    }

    /// <summary>
    /// Writes the tools/list response <paramref name="response"/> again without the tools the policy hides or
    /// denies outright, and without entries that have no usable name. Everything else is kept as it was.
    /// </summary>
    public static void WriteFiltered(Utf8JsonWriter json, JsonElement response, PolicyEvaluator evaluator)
    {
        json.WriteStartObject();
        foreach (var member in response.EnumerateObject())
        {
            if (member.NameEquals("result") && member.Value.ValueKind == JsonValueKind.Object)
            {
                json.WritePropertyName(member.Name);
                WriteFilteredResult(json, member.Value, evaluator);
            }
            else
            {
                member.WriteTo(json);
            }
        }

        json.WriteEndObject();
    }

    private static void WriteFilteredResult(Utf8JsonWriter json, JsonElement result, PolicyEvaluator evaluator)
    {
        json.WriteStartObject();
        foreach (var member in result.EnumerateObject())
        {
            if (!member.NameEquals("tools") || member.Value.ValueKind != JsonValueKind.Array)
            {
                member.WriteTo(json);
                continue;
            }

            json.WriteStartArray(member.Name);
            foreach (var tool in member.Value.EnumerateArray())
            {
                if (ReadDescriptor(tool) is { } descriptor && evaluator.IsListed(descriptor))
                {
                    tool.WriteTo(json);
                }
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }
}
