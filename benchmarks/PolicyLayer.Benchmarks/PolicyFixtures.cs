using System.Text;

namespace PolicyLayer.Benchmarks;

/// <summary>Generated policies for the benchmarks.</summary>
internal static class PolicyFixtures
{
    /// <summary>A policy of <paramref name="tools"/> rules, each with a condition and a limit, half exact names and half globs.</summary>
    public static string Large(int tools, bool withLimits = true)
    {
        var json = new StringBuilder("{ \"version\": \"1\", \"default\": \"deny\", \"tools\": {");
        for (var i = 0; i < tools; i++)
        {
            var key = i % 2 == 0 ? $"tool_{i:D5}" : $"family_{i:D5}_*";
            json.Append(i == 0 ? "" : ",").Append('\n').Append($"  \"{key}\": {{");
            json.Append($" \"deny_if\": [ {{ \"path\": \"args.env\", \"op\": \"in\", \"value\": [\"prod\", \"live\"] }} ]");
            if (withLimits)
            {
                json.Append($", \"limits\": [ {{ \"counter\": \"c_{i}\", \"window\": \"minute\", \"max\": 30, \"scope\": \"grant\" }} ]");
            }

            json.Append(" }");
        }

        return json.Append("\n} }").ToString();
    }

    /// <summary>
    /// A policy of <paramref name="tools"/> rules written compactly, half exact names and half globs, most of them empty
    /// (allowed) and every tenth with a condition and a limit: the shape that fits 100,000 tools under the 4 MiB limit.
    /// </summary>
    public static string Mixed(int tools)
    {
        var json = new StringBuilder("{\"version\":\"1\",\"default\":\"deny\",\"tools\":{");
        for (var i = 0; i < tools; i++)
        {
            var key = i % 2 == 0 ? $"tool_{i:D6}" : $"family_{i:D6}_*";
            json.Append(i == 0 ? "" : ",").Append('\n').Append($"\"{key}\":{{");
            if (i % 10 == 0)
            {
                json.Append("\"deny_if\":[{\"path\":\"args.env\",\"op\":\"in\",\"value\":[\"prod\",\"live\"]}],");
                json.Append($"\"limits\":[{{\"counter\":\"c_{i}\",\"window\":\"minute\",\"max\":30,\"scope\":\"grant\"}}]");
            }

            json.Append('}');
        }

        return json.Append("\n}}").ToString();
    }

    /// <summary>
    /// A policy of <paramref name="tools"/> rules written compactly, most of them empty and every tenth with a limit, whose
    /// keys are all of one kind: <c>exact</c> names, globs with a literal <c>prefix</c> (<c>family_000001_*</c>) or
    /// <c>suffix</c> (<c>*_op_000001</c>), or <c>ends</c>: a third each of exact names, prefixed and suffixed globs.
    /// </summary>
    public static string Compact(string shape, int tools)
    {
        var json = new StringBuilder("{\"version\":\"1\",\"default\":\"deny\",\"tools\":{");
        for (var i = 0; i < tools; i++)
        {
            var key = shape switch
            {
                "exact" => $"tool_{i:D6}",
                "prefix" => $"family_{i:D6}_*",
                "suffix" => $"*_op_{i:D6}",
                "ends" => (i % 3) switch { 0 => $"srv{i}.get_{i}", 1 => $"srv{i}.*", _ => $"*.delete_{i}" },
                _ => throw new ArgumentException($"Unknown compact shape '{shape}'; expected {string.Join(", ", CompactShapes)}.", nameof(shape)),
            };
            json.Append(i == 0 ? "" : ",").Append('\n').Append($"\"{key}\":{{");
            if (i % 10 == 0)
            {
                json.Append($"\"limits\":[{{\"counter\":\"c_{i}\",\"window\":\"minute\",\"max\":30,\"scope\":\"grant\"}}]");
            }

            json.Append('}');
        }

        return json.Append("\n}}").ToString();
    }

    /// <summary>The compact policies of one kind of key each (<see cref="Compact"/>), at 1k, 10k and 100k tools.</summary>
    public static IEnumerable<string> ShapeCases =>
        from shape in CompactShapes
        from tools in ShapeSizes
        select $"{shape} {tools}";

    private static readonly string[] CompactShapes = ["exact", "prefix", "suffix", "ends"];

    private static readonly int[] ShapeSizes = [1_000, 10_000, 100_000];

    /// <summary>The policies the load benchmarks measure, by name: <c>large 1000</c> (<see cref="Large"/>) or <c>mixed 100000</c> (<see cref="Mixed"/>).</summary>
    public static byte[] ForLoad(string name)
    {
        var (shape, tools) = name.Split(' ') is [var s, var t] ? (s, int.Parse(t, System.Globalization.CultureInfo.InvariantCulture)) : throw new ArgumentException($"Expected 'large N' or 'mixed N', found '{name}'.", nameof(name));
        return Encoding.UTF8.GetBytes(shape switch
        {
            "large" => Large(tools),
            "mixed" => Mixed(tools),
            _ when CompactShapes.Contains(shape) => Compact(shape, tools),
            _ => throw new ArgumentException($"Unknown policy shape '{shape}'; expected large, mixed, exact, prefix, suffix or ends.", nameof(name)),
        });
    }

    /// <summary>Every policy the load benchmarks measure: the issue's shape at 1k and 10k tools, and the compact shape from 1k to 100k.</summary>
    public static IEnumerable<string> LoadCases => ["large 1000", "large 10000", "mixed 1000", "mixed 10000", "mixed 100000"];
}
