using System.Text;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>
/// Makes a failing document small for a report: removes one property or array item at a time, anywhere, keeping each
/// removal after which the document still fails, until no single removal does. A document that is not plain JSON (a
/// key twice, a comment), or whose rewriting no longer fails (its escapes mattered), is returned as it was.
/// </summary>
internal static class DocumentShrinker
{
    public static string Shrink(string document, Func<byte[], bool> fails)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(document, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException)
        {
            return document;
        }

        if (root is null || !fails(Bytes(root)))
        {
            return document;
        }

        for (var removed = true; removed;)
        {
            removed = false;
            foreach (var (parent, key, index) in Places(root).ToList())
            {
                var node = key is null ? ((JsonArray)parent)[index] : ((JsonObject)parent)[key];
                Detach(parent, key, index);
                if (fails(Bytes(root)))
                {
                    removed = true;
                    break;
                }

                Attach(parent, key, index, node);
            }
        }

        return Write(root);
    }

    private static byte[] Bytes(JsonNode root) => Encoding.UTF8.GetBytes(Write(root));

    /// <summary>The node as compact JSON that escapes only what JSON must (the serializer's encoders escape non-ASCII text, which readers treat apart).</summary>
    private static string Write(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                return "{" + string.Join(",", obj.Select(p => Quote(p.Key) + ":" + Write(p.Value))) + "}";
            case JsonArray array:
                return "[" + string.Join(",", array.Select(Write)) + "]";
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return Quote(value.GetValue<string>());
            case null:
                return "null";
            default:
                return node.ToJsonString();
        }
    }

    private static string Quote(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in text)
        {
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                < ' ' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }

    /// <summary>Every property and array item below <paramref name="node"/>, outermost first.</summary>
    private static IEnumerable<(JsonNode Parent, string? Key, int Index)> Places(JsonNode node)
    {
        switch (node)
        {
            case JsonObject obj:
                var properties = obj.ToList();
                for (var i = properties.Count - 1; i >= 0; i--)
                {
                    var (key, value) = properties[i];
                    yield return (obj, key, i);
                    if (value is not null)
                    {
                        foreach (var inner in Places(value))
                        {
                            yield return inner;
                        }
                    }
                }

                break;
            case JsonArray array:
                for (var i = array.Count - 1; i >= 0; i--)
                {
                    yield return (array, null, i);
                    if (array[i] is { } item)
                    {
                        foreach (var inner in Places(item))
                        {
                            yield return inner;
                        }
                    }
                }

                break;
        }
    }

    private static void Detach(JsonNode parent, string? key, int index)
    {
        if (key is null)
        {
            ((JsonArray)parent).RemoveAt(index);
        }
        else
        {
            var obj = (JsonObject)parent;
            obj.RemoveAt(obj.IndexOf(key));
        }
    }

    /// <summary>Puts a node back in its place: key order can matter to a reader.</summary>
    private static void Attach(JsonNode parent, string? key, int index, JsonNode? node)
    {
        if (key is null)
        {
            ((JsonArray)parent).Insert(index, node);
        }
        else
        {
            ((JsonObject)parent).Insert(index, key, node);
        }
    }
}
