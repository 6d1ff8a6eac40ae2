namespace PolicyLayer.Policies;

/// <summary>
/// Finds the first of a list of globs (in precedence order) that matches a name, without trying every glob. Each glob
/// is filed under its longer literal end, the text before its first wildcard or after its last; a name is tried only
/// against the globs filed under its own prefixes and suffixes, looked up by the lengths that occur. Globs with no
/// literal end (<c>*mid*</c>) are tried in order, as before.
/// </summary>
/// <remarks>
/// A name the policy has never seen costs one hash lookup per distinct literal-end length (bounded by the name's
/// length) plus a match against each glob that shares one of its ends, instead of a match against every glob. The
/// answer is the naive scan's: the lowest-ranked glob that matches.
/// </remarks>
internal sealed class GlobIndex
{
    private readonly GlobPattern[] _globs;
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _byPrefix;
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _bySuffix;
    private readonly int[] _prefixLengths;
    private readonly int[] _suffixLengths;
    private readonly int[] _unanchored;

    /// <param name="globs">The globs in precedence order: index 0 wins over every other that matches.</param>
    public GlobIndex(GlobPattern[] globs)
    {
        _globs = globs;
        var byPrefix = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var bySuffix = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var unanchored = new List<int>();
        for (var rank = 0; rank < globs.Length; rank++)
        {
            var pattern = globs[rank].Pattern;
            var prefix = pattern.AsSpan().IndexOfAny('*', '?');
            var suffix = pattern.Length - 1 - pattern.AsSpan().LastIndexOfAny('*', '?');
            if (prefix == 0 && suffix == 0)
            {
                unanchored.Add(rank);
            }
            else if (prefix >= suffix)
            {
                AddTo(byPrefix, pattern[..prefix], rank);
            }
            else
            {
                AddTo(bySuffix, pattern[^suffix..], rank);
            }
        }

        // Ranks were added in ascending order, so each list is already in precedence order.
        _byPrefix = byPrefix.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        _bySuffix = bySuffix.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        _prefixLengths = [.. byPrefix.Keys.Select(k => k.Length).Distinct().Order()];
        _suffixLengths = [.. bySuffix.Keys.Select(k => k.Length).Distinct().Order()];
        _unanchored = [.. unanchored];
    }

    /// <summary>The rank of the first glob that matches <paramref name="name"/>; false when none does.</summary>
    public bool TryMatch(string name, out int rank)
    {
        var best = int.MaxValue;
        var span = name.AsSpan();
        foreach (var length in _prefixLengths)
        {
            if (length > span.Length)
            {
                break;
            }

            if (_byPrefix.TryGetValue(span[..length], out var ranks))
            {
                best = FirstMatch(ranks, name, best);
            }
        }

        foreach (var length in _suffixLengths)
        {
            if (length > span.Length)
            {
                break;
            }

            if (_bySuffix.TryGetValue(span[^length..], out var ranks))
            {
                best = FirstMatch(ranks, name, best);
            }
        }

        best = FirstMatch(_unanchored, name, best);
        rank = best;
        return best != int.MaxValue;
    }

    /// <summary>The lowest rank in <paramref name="ranks"/> (ascending) below <paramref name="best"/> whose glob matches, else <paramref name="best"/>.</summary>
    private int FirstMatch(int[] ranks, string name, int best)
    {
        foreach (var rank in ranks)
        {
            if (rank >= best)
            {
                break;
            }

            if (_globs[rank].IsMatch(name))
            {
                return rank;
            }
        }

        return best;
    }

    private static void AddTo(Dictionary<string, List<int>> index, string key, int rank)
    {
        if (!index.TryGetValue(key, out var ranks))
        {
            index[key] = ranks = [];
        }

        ranks.Add(rank);
    }
}
