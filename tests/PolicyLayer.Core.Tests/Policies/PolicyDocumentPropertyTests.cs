using System.Text;
using System.Text.Json.Nodes;
using CsCheck;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>Whatever a document looks like, loading it either succeeds or throws PolicyValidationException.</summary>
public class PolicyDocumentPropertyTests
{
    // POLICYLAYER_PROPERTY_ITERATIONS raises the count for a longer run (see README, "Testing the loader").
    private static readonly long Iterations =
        long.TryParse(Environment.GetEnvironmentVariable("POLICYLAYER_PROPERTY_ITERATIONS"), out var n) ? n : 10_000;

    private static readonly string[] Seeds =
    [
        .. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "valid"), "*.json").Select(File.ReadAllText),
    ];

    // Values chosen to hit edges: wrong types, empty and odd strings, huge and fractional numbers, deep nesting.
    private static readonly string[] Replacements =
    [
        "null", "true", "false", "0", "-1", "1.5", "1e308", "-1e308", "9007199254740993", "99999999999999999999999",
        "\"\"", "\" \"", "\"args.\"", "\"args..x\"", "\"args.a.b\"", "\"deny\"", "\"allow\"", "\"require_approval\"",
        "\"minute\"", "\"0s\"", "\"99999999999d\"", "\"grant\"", "\"*\"", "\"?\"", "\"(\"", "\"[a-\"", "\"\\u0000\"",
        "\"\\uD800\"", "[]", "{}", "[[[[[[[[[[]]]]]]]]]]", "{\"a\":{\"b\":{\"c\":{}}}}", "[1,\"a\",null]", "\"exists\"", "\"in\"", "\"regex\"",
    ];

    private static readonly string[] Keys =
    [
        "version", "default", "hide", "all_tools", "tools", "risk", "classify", "action", "reason", "require", "deny_if",
        "require_approval_if", "limits", "rate_limit", "path", "op", "value", "counter", "window", "max", "scope",
        "increment_from", "limts", "", "read", "financial", "*", "$schema",
    ];

    [Test]
    public void Parse_MutatedDocument_LoadsOrThrowsValidationExceptionOnly()
    {
        var gen = Gen.Select(Gen.Int[0, Seeds.Length - 1], Gen.Int[0, 7], Gen.Int[0, 1_000_000], Gen.Int[0, 1_000_000]);
        gen.Sample(
            t =>
            {
                var (seed, kind, a, b) = t;
                var text = Mutate(Seeds[seed], kind, a, b);
                try
                {
                    PolicyDocument.Parse(text);
                }
                catch (PolicyValidationException ex)
                {
                    if (ex.Errors.Count == 0 || ex.Errors.Any(e => string.IsNullOrEmpty(e.Message) || e.Line < 1 || e.Column < 1))
                    {
                        throw new InvalidOperationException("An error without a message or position: " + ex.Message);
                    }
                }
            },
            iter: Iterations,
            threads: 1,
            print: t => Mutate(Seeds[t.Item1], t.Item2, t.Item3, t.Item4));
    }

    private static string Mutate(string seed, int kind, int a, int b)
    {
        switch (kind)
        {
            case 0: // Delete a run of characters.
            {
                var start = a % seed.Length;
                return seed.Remove(start, Math.Min(b % 12 + 1, seed.Length - start));
            }

            case 1: // Insert a token at a random place.
                return seed.Insert(a % (seed.Length + 1), Replacements[b % Replacements.Length]);
            case 2: // Truncate.
                return seed[..(a % seed.Length)];
            case 3: // Flip one byte to an arbitrary character (including invalid UTF-8 once re-encoded).
            {
                var bytes = Encoding.UTF8.GetBytes(seed);
                bytes[a % bytes.Length] = (byte)(b % 256);
                return Encoding.UTF8.GetString(bytes);
            }

            default: // Structural: replace, remove, rename or duplicate a node of the tree.
            {
                try
                {
                    return MutateTree(seed, kind, a, b);
                }
                catch (InvalidOperationException)
                {
                    // JsonNode cannot write some replacements (a lone surrogate); insert them as text instead.
                    return seed.Insert(a % (seed.Length + 1), Replacements[b % Replacements.Length]);
                }
            }
        }
    }

    private static string MutateTree(string seed, int kind, int a, int b)
    {
            {
                var root = JsonNode.Parse(seed)!;
                var nodes = new List<JsonNode>();
                Collect(root, nodes);
                var target = nodes[a % nodes.Count];
                var parent = target.Parent;
                if (parent is null)
                {
                    return Replacements[b % Replacements.Length];
                }

                var replacement = JsonNode.Parse(Replacements[b % Replacements.Length]);
                switch (kind)
                {
                    case 4:
                        target.ReplaceWith(replacement);
                        break;
                    case 5 when parent is JsonObject o:
                        o.Remove(target.GetPropertyName());
                        break;
                    case 6 when parent is JsonObject o:
                    {
                        var name = target.GetPropertyName();
                        o.Remove(name);
                        o[Keys[b % Keys.Length]] = target;
                        break;
                    }

                    case 7 when parent is JsonObject:
                    {
                        // Duplicate a key as text: JsonNode cannot hold duplicates.
                        var name = target.GetPropertyName();
                        var json = root.ToJsonString();
                        var at = json.IndexOf("\"" + name + "\":", StringComparison.Ordinal);
                        return at < 0 ? json : json.Insert(at, $"\"{name}\":{Replacements[b % Replacements.Length]},");
                    }

                    default:
                        if (parent is JsonArray array)
                        {
                            array.Remove(target);
                        }

                        break;
                }

                return root.ToJsonString();
            }
    }

    private static void Collect(JsonNode node, List<JsonNode> nodes)
    {
        nodes.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
        }
    }
}
