using System.Text.Json;
using PolicyLayer.Gate;

namespace PolicyLayer.Gateway;

/// <summary>Reads tool descriptors from tools/list results and filters those results through the policy.</summary>
internal static class ToolListing
{
    /// <summary>Where an initialize result declares the tools capability.</summary>
    private static readonly string[] CapabilityPath = ["result", "capabilities", "tools"];

    /// <summary>Reads one entry of a tools/list result; <see langword="null"/> when it has no usable name.</summary>
    public static ToolDescriptor? ReadDescriptor(JsonElement tool) => McpToolJson.ReadDescriptor(tool);

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
    /// Writes the tools/list response <paramref name="response"/> again with only the tools <paramref name="isListed"/>
    /// keeps (the gateway's: those the policy neither hides nor denies outright), and without entries that have no
    /// usable name, and with the client's <paramref name="id"/>. Everything else is kept as it was.
    /// </summary>
    public static void WriteFiltered(Utf8JsonWriter json, JsonElement response, ReadOnlyMemory<byte> id, Func<ToolDescriptor, bool> isListed)
    {
        json.WriteStartObject();
        foreach (var member in response.EnumerateObject())
        {
            if (member.NameEquals("id"))
            {
                ClientReplies.WriteId(json, id);
            }
            else if (member.NameEquals("result") && member.Value.ValueKind == JsonValueKind.Object)
            {
                json.WritePropertyName(member.Name);
                WriteFilteredResult(json, member.Value, isListed);
            }
            else
            {
                member.WriteTo(json);
            }
        }

        json.WriteEndObject();
    }

    private static void WriteFilteredResult(Utf8JsonWriter json, JsonElement result, Func<ToolDescriptor, bool> isListed)
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
                if (ReadDescriptor(tool) is { } descriptor && isListed(descriptor))
                {
                    tool.WriteTo(json);
                }
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// Whether an initialize response declares the tools capability (<c>result.capabilities.tools</c> is an object),
    /// and whether it already says <c>listChanged: true</c>.
    /// </summary>
    public static bool DeclaresTools(JsonElement response, out bool listChanged)
    {
        listChanged = false;
        if (!response.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Object
            || !result.TryGetProperty("capabilities", out var capabilities) || capabilities.ValueKind != JsonValueKind.Object
            || !capabilities.TryGetProperty("tools", out var tools) || tools.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        listChanged = tools.TryGetProperty("listChanged", out var value) && value.ValueKind == JsonValueKind.True;
        return true;
    }

    /// <summary>
    /// Writes an initialize response again with <c>result.capabilities.tools.listChanged: true</c>, everything else as
    /// it was but the client's <paramref name="id"/>. Only for a response that <see cref="DeclaresTools"/>.
    /// </summary>
    public static void WriteDeclaringListChanged(Utf8JsonWriter json, JsonElement response, ReadOnlyMemory<byte> id) =>
        CopyDeclaringListChanged(json, response, id, depth: 0);

    private static void CopyDeclaringListChanged(Utf8JsonWriter json, JsonElement element, ReadOnlyMemory<byte> id, int depth)
    {
        json.WriteStartObject();
        foreach (var member in element.EnumerateObject())
        {
            if (depth == CapabilityPath.Length && member.NameEquals("listChanged"))
            {
                continue;
            }

            if (depth == 0 && member.NameEquals("id"))
            {
                ClientReplies.WriteId(json, id);
                continue;
            }

            if (depth < CapabilityPath.Length && member.NameEquals(CapabilityPath[depth]) && member.Value.ValueKind == JsonValueKind.Object)
            {
                json.WritePropertyName(member.Name);
                CopyDeclaringListChanged(json, member.Value, id, depth + 1);
            }
            else
            {
                member.WriteTo(json);
            }
        }

        if (depth == CapabilityPath.Length)
        {
            json.WriteBoolean("listChanged", true);
        }

        json.WriteEndObject();
    }
}
