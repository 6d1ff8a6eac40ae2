using System.Globalization;
using System.Text;

namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>A JSON value as a tree the generator builds and the mutations edit, written out by <see cref="JsonWriterStyle"/>.</summary>
internal abstract class JNode;

internal sealed class JObject : JNode
{
    public List<JProperty> Properties { get; } = [];

    /// <summary>A comma after the last property (which the parser rejects).</summary>
    public bool TrailingComma { get; set; }

    /// <summary>A comment before the first property (which the parser rejects).</summary>
    public string? Comment { get; set; }

    public JObject Add(string key, JNode value)
    {
        Properties.Add(new JProperty(key, value));
        return this;
    }

    public JNode? this[string key] => Properties.FirstOrDefault(p => p.Key == key)?.Value;

    public void Set(string key, JNode value)
    {
        if (Properties.FirstOrDefault(p => p.Key == key) is { } property)
        {
            property.Value = value;
        }
        else
        {
            Add(key, value);
        }
    }

    public bool Remove(string key) => Properties.RemoveAll(p => p.Key == key) > 0;
}

internal sealed class JProperty(string key, JNode value)
{
    public string Key { get; set; } = key;

    public JNode Value { get; set; } = value;

    /// <summary>Write every character of the key as a <c>\uXXXX</c> escape.</summary>
    public bool EscapeKey { get; set; }

    /// <summary>The key exactly as written (quotes included), instead of <see cref="Key"/> escaped by the style.</summary>
    public string? RawKey { get; set; }
}

internal sealed class JArray : JNode
{
    public JArray(IEnumerable<JNode> items) => Items = [.. items];

    public List<JNode> Items { get; }

    public bool TrailingComma { get; set; }
}

internal sealed class JString(string value) : JNode
{
    public string Value { get; set; } = value;

    /// <summary>The string exactly as written (quotes included), instead of <see cref="Value"/> escaped by the style.</summary>
    public string? Raw { get; set; }
}

/// <summary>A number, true, false or null, as written.</summary>
internal sealed class JLiteral(string raw) : JNode
{
    public string Raw { get; } = raw;

    public static JLiteral Number(long value) => new(value.ToString(CultureInfo.InvariantCulture));
}

/// <summary>
/// How one document is written: its whitespace (none, spaces, indented lines, or a mix of spaces, tabs and newlines),
/// how often characters of strings and keys are written as escapes, and whether <c>/</c> is escaped. A plain style escapes
/// only what JSON must.
/// </summary>
internal sealed class JsonWriterStyle(Random random, bool plain = false)
{
    private readonly int _spacing = random.Next(4);
    private readonly double _escapeRate = plain ? 0 : random.Next(6) switch { 0 => 0.05, 1 => 0.3, _ => 0 };
    private readonly bool _escapeSlash = !plain && random.Next(5) == 0;

    public string Write(JNode node)
    {
        var text = new StringBuilder();
        text.Append(Gap(0));
        Write(node, text, 1);
        text.Append(Gap(0));
        return text.ToString();
    }

    private void Write(JNode node, StringBuilder text, int depth)
    {
        switch (node)
        {
            case JObject obj:
                text.Append('{');
                if (obj.Comment is { } comment)
                {
                    text.Append(comment);
                }

                for (var i = 0; i < obj.Properties.Count; i++)
                {
                    var property = obj.Properties[i];
                    text.Append(i == 0 ? "" : ",").Append(Gap(depth));
                    text.Append(property.RawKey ?? Quote(property.Key, property.EscapeKey));
                    text.Append(Gap(depth)).Append(':').Append(Gap(depth));
                    Write(property.Value, text, depth + 1);
                }

                text.Append(obj.TrailingComma ? "," : "").Append(Gap(depth - 1)).Append('}');
                break;
            case JArray array:
                text.Append('[');
                for (var i = 0; i < array.Items.Count; i++)
                {
                    text.Append(i == 0 ? "" : ",").Append(Gap(depth));
                    Write(array.Items[i], text, depth + 1);
                }

                text.Append(array.TrailingComma ? "," : "").Append(Gap(depth - 1)).Append(']');
                break;
            case JString str:
                text.Append(str.Raw ?? Quote(str.Value, false));
                break;
            case JLiteral literal:
                text.Append(literal.Raw);
                break;
            default:
                throw new ArgumentException($"Unknown node {node.GetType().Name}.", nameof(node));
        }
    }

    private string Gap(int depth) => _spacing switch
    {
        0 => "",
        1 => " ",
        2 => "\n" + new string(' ', 2 * depth),
        _ => random.Next(6) switch { 0 => "", 1 => " ", 2 => "\n", 3 => "\t", 4 => "\r\n  ", _ => " \n\t" },
    };

    /// <summary>The string in quotes: what JSON must escape escaped, and other characters escaped at the style's rate (or all of them).</summary>
    private string Quote(string value, bool escapeAll)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var pair = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]);
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '/' when _escapeSlash:
                    text.Append("\\/");
                    break;
                default:
                    if (c < ' ' || escapeAll || random.NextDouble() < _escapeRate)
                    {
                        text.Append("\\u").Append(((int)c).ToString(random.Next(2) == 0 ? "x4" : "X4", CultureInfo.InvariantCulture));
                        if (pair)
                        {
                            text.Append("\\u").Append(((int)value[++i]).ToString("x4", CultureInfo.InvariantCulture));
                        }
                    }
                    else
                    {
                        text.Append(c);
                        if (pair)
                        {
                            text.Append(value[++i]);
                        }
                    }

                    break;
            }
        }

        return text.Append('"').ToString();
    }
}
