using System.Text.Json;

namespace PolicyLayer.Gate;

/// <summary>
/// The rule that argument objects have one reading: no member name repeats, and no two differ only in case, at any
/// depth. A policy reads one member where a server that keeps the last duplicate, or binds names case-insensitively
/// (the C# SDK does), could read another: <c>{"amount":1,"Amount":1000}</c> would pass a cap of 100 and spend 1000.
/// </summary>
/// <remarks>
/// Linear in the size of the arguments: each object's names go once into a hash set (randomised string hashing, so
/// no input can make it quadratic), and each value is visited once.
/// </remarks>
internal static class ArgumentNames
{
    /// <summary>The problem with a call's arguments as a raw JSON object (as a relay has them), or null when every name reads one way.</summary>
    /// <param name="arguments">The <c>arguments</c> of a tools/call.</param>
    public static string? FindAmbiguity(JsonElement arguments) => Check(arguments);

    /// <summary>
    /// The problem with a call's arguments as a host's SDK has already read them (a dictionary, whose own keys cannot
    /// repeat but can differ in case), or null when every name reads one way.
    /// </summary>
    /// <param name="arguments">The arguments by name.</param>
    public static string? FindAmbiguity(IEnumerable<KeyValuePair<string, JsonElement>>? arguments)
    {
        if (arguments is null)
        {
            return null;
        }

        // The SDK reads arguments into a Dictionary: walk it without boxing its enumerator, and compare a few names
        // pairwise instead of hashing them into a set made for the call.
        if (arguments is Dictionary<string, JsonElement> dictionary)
        {
            return dictionary.Count <= PairwiseLimit ? FindAmbiguityPairwise(dictionary) : FindAmbiguityHashed(dictionary);
        }

        return FindAmbiguityHashed(arguments);
    }

    // Up to this many names, comparing each with those before it (at most 28 comparisons) is cheaper than a hash set,
    // and the bound keeps the whole check linear.
    private const int PairwiseLimit = 8;

    private static string? FindAmbiguityPairwise(Dictionary<string, JsonElement> arguments)
    {
        var index = 0;
        foreach (var (name, value) in arguments)
        {
            var before = 0;
            foreach (var earlier in arguments.Keys)
            {
                if (before++ == index)
                {
                    break;
                }

                if (string.Equals(earlier, name, StringComparison.OrdinalIgnoreCase))
                {
                    return Describe(name);
                }
            }

            if (Check(value) is { } nested)
            {
                return nested;
            }

            index++;
        }

        return null;
    }

    private static string? FindAmbiguityHashed(IEnumerable<KeyValuePair<string, JsonElement>> arguments)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in arguments)
        {
            if (!names.Add(name))
            {
                return Describe(name);
            }

            if (Check(value) is { } nested)
            {
                return nested;
            }
        }

        return null;
    }

    // The depth is bounded by the JSON reader's (64 by default), so recursion is safe.
    private static string? Check(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
            {
                var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (var member in value.EnumerateObject())
                {
                    if (!names.Add(member.Name))
                    {
                        return Describe(member.Name);
                    }
                }

                foreach (var member in value.EnumerateObject())
                {
                    if (member.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && Check(member.Value) is { } nested)
                    {
                        return nested;
                    }
                }

                return null;
            }

            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind is JsonValueKind.Object or JsonValueKind.Array && Check(item) is { } nested)
                    {
                        return nested;
                    }
                }

                return null;

            default:
                return null;
        }
    }

    private static string Describe(string name) =>
        $"The arguments are ambiguous: the member name \"{Shorten(name)}\" appears twice in one object, or in two spellings that differ only in case, and a server could read either value. Send each name once, in one spelling.";

    private static string Shorten(string name) => name.Length <= 64 ? name : string.Concat(name.AsSpan(0, 64), "…");
}
