using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PolicyLayer;

/// <summary>
/// A call's arguments as canonical JSON (object keys in ordinal order at every depth, arrays in order, numbers as
/// written, indented) and the fingerprint that binds an approval to one tool, those arguments and one caller.
/// </summary>
internal static class CanonicalArguments
{
    private static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The canonical JSON of <paramref name="arguments"/>; null when it would be longer than <paramref name="maxBytes"/>.</summary>
    public static string? Write(IReadOnlyDictionary<string, JsonElement>? arguments, int maxBytes)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, Indented))
        {
            json.WriteStartObject();
            if (arguments is not null)
            {
                var names = new string[arguments.Count];
                var i = 0;
                foreach (var name in arguments.Keys)
                {
                    names[i++] = name;
                }

                Array.Sort(names, StringComparer.Ordinal);
                foreach (var name in names)
                {
                    json.WritePropertyName(name);
                    WriteValue(json, arguments[name]);
                }
            }

            json.WriteEndObject();
        }

        return buffer.WrittenCount > maxBytes ? null : Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The SHA-256 (lower-case hex) of the tool, the canonical arguments and the caller's grant, user and agent.</summary>
    public static string Fingerprint(string toolName, string canonicalArguments, CallerIdentity caller)
    {
        var text = string.Join('\u001f', "v1", toolName, canonicalArguments, caller.GrantId, caller.UserId, caller.AgentId);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static void WriteValue(Utf8JsonWriter json, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var properties = new List<JsonProperty>();
                foreach (var property in value.EnumerateObject())
                {
                    properties.Add(property);
                }

                // Stable: members that share a name keep their order.
                var ordered = properties.OrderBy(static p => p.Name, StringComparer.Ordinal);
                json.WriteStartObject();
                foreach (var property in ordered)
                {
                    json.WritePropertyName(property.Name);
                    WriteValue(json, property.Value);
                }

                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    WriteValue(json, item);
                }

                json.WriteEndArray();
                break;
            default:
                value.WriteTo(json);
                break;
        }
    }
}
