using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// Writes a call's argument values into its audit line, so that <c>policylayer replay</c> can decide the call again,
/// with the values at the redacted paths replaced by <see cref="AuditLog.Redacted"/>. A path is an argument name
/// (<c>password</c>) or a dotted path into objects (<c>card.number</c>; an array's items are on the array's path); a name matches at any depth when written as
/// <c>*.name</c>. Matching is ordinal, as JSON member names are.
/// </summary>
internal sealed class AuditArguments
{
    private readonly HashSet<string> _paths = new(StringComparer.Ordinal);
    private readonly HashSet<string> _anywhere = new(StringComparer.Ordinal);

    public AuditArguments(IEnumerable<string> redacted)
    {
        foreach (var path in redacted)
        {
            if (path.StartsWith("*.", StringComparison.Ordinal))
            {
                _anywhere.Add(path[2..]);
            }
            else
            {
                _paths.Add(path);
            }
        }
    }

    public void Write(Utf8JsonWriter json, IReadOnlyDictionary<string, JsonElement>? arguments)
    {
        json.WriteStartObject();
        if (arguments is not null)
        {
            foreach (var (name, value) in arguments)
            {
                json.WritePropertyName(name);
                WriteValue(json, name, name, value);
            }
        }

        json.WriteEndObject();
    }

    private void WriteValue(Utf8JsonWriter json, string path, string name, JsonElement value)
    {
        if (_paths.Contains(path) || _anywhere.Contains(name))
        {
            json.WriteStringValue(AuditLog.Redacted);
            return;
        }

        if (_paths.Count == 0 && _anywhere.Count == 0 || value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
        {
            value.WriteTo(json);
            return;
        }

        if (value.ValueKind == JsonValueKind.Array)
        {
            // An array's items are on their array's path: items.password redacts the password of every item.
            json.WriteStartArray();
            foreach (var item in value.EnumerateArray())
            {
                WriteValue(json, path, name, item);
            }

            json.WriteEndArray();
            return;
        }

        json.WriteStartObject();
        foreach (var member in value.EnumerateObject())
        {
            json.WritePropertyName(member.Name);
            WriteValue(json, string.Concat(path, ".", member.Name), member.Name, member.Value);
        }

        json.WriteEndObject();
    }
}
