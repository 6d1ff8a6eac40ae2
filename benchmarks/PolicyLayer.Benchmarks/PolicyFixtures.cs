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
}
