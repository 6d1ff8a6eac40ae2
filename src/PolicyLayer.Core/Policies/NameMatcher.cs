using System.Buffers;

namespace PolicyLayer.Policies;

/// <summary>
/// Looks a tool name up among exact keys and globs: the exact name first, else the most specific glob
/// (fewest wildcards, then the longest pattern, then document order), found through a <see cref="GlobIndex"/>.
/// </summary>
internal sealed class NameMatcher<T>
{
    private readonly Dictionary<string, T> _exact;

    // The globs most specific first, and their values at the same ranks: the index shares the globs' array.
    private readonly GlobPattern[] _globs;
    private readonly T[] _globValues;
    private readonly GlobIndex _index;

    public NameMatcher(IEnumerable<KeyValuePair<string, T>> entries)
        : this((entries as KeyValuePair<string, T>[] ?? [.. entries]).AsSpan())
    {
    }

    /// <summary>Builds the matcher from the document's entries in document order, sized from them: no collection grows or is copied.</summary>
    public NameMatcher(ReadOnlySpan<KeyValuePair<string, T>> entries)
    {
        var globCount = 0;
        foreach (var entry in entries)
        {
            if (GlobPattern.IsGlob(entry.Key))
            {
                globCount++;
            }
        }

        var exact = new Dictionary<string, T>(entries.Length - globCount, StringComparer.Ordinal);

        // Working arrays from the pool: at 100,000 rules they would be large objects, whose allocation starts full collections.
        var inDocumentOrder = ArrayPool<(GlobPattern Glob, T Value)>.Shared.Rent(globCount);
        var order = ArrayPool<int>.Shared.Rent(globCount);
        var g = 0;
        foreach (var (key, value) in entries)
        {
            if (GlobPattern.IsGlob(key))
            {
                inDocumentOrder[g++] = (new GlobPattern(key), value);
            }
            else
            {
                exact[key] = value;
            }
        }

        // Most specific first (fewest wildcards, then the longest pattern), then document order.
        for (var i = 0; i < globCount; i++)
        {
            order[i] = i;
        }

        order.AsSpan(0, globCount).Sort((a, b) => GlobPattern.CompareSpecificity(inDocumentOrder[a].Glob, inDocumentOrder[b].Glob) is var c and not 0 ? c : a.CompareTo(b));
        var globs = new GlobPattern[globCount];
        var values = new T[globCount];
        for (var rank = 0; rank < globCount; rank++)
        {
            (globs[rank], values[rank]) = inDocumentOrder[order[rank]];
        }

        ArrayPool<(GlobPattern Glob, T Value)>.Shared.Return(inDocumentOrder, clearArray: true);
        ArrayPool<int>.Shared.Return(order);

        _exact = exact;
        _globs = globs;
        _globValues = values;
        _index = new GlobIndex(globs);
    }

    public static NameMatcher<T> Empty { get; } = new([]);

    public int Count => _exact.Count + _globs.Length;

    /// <summary>Every key that matches <paramref name="name"/> in precedence order: the exact key, then globs from most to least specific (for explanations).</summary>
    public IEnumerable<KeyValuePair<string, T>> MatchAll(string name)
    {
        if (_exact.TryGetValue(name, out var exact))
        {
            yield return new(name, exact);
        }

        for (var rank = 0; rank < _globs.Length; rank++)
        {
            if (_globs[rank].IsMatch(name))
            {
                yield return new(_globs[rank].Pattern, _globValues[rank]);
            }
        }
    }

    public bool TryMatch(string name, out T value, out string? matchedKey)
    {
        if (_exact.TryGetValue(name, out value!))
        {
            matchedKey = name;
            return true;
        }

        if (_index.TryMatch(name, out var rank))
        {
            value = _globValues[rank];
            matchedKey = _globs[rank].Pattern;
            return true;
        }

        value = default!;
        matchedKey = null;
        return false;
    }
}

/// <summary>A tool-name glob: <c>*</c> any run of characters, <c>?</c> one character; everything else literal.</summary>
internal sealed class GlobPattern
{
    public GlobPattern(string pattern)
    {
        Pattern = pattern;
        foreach (var c in pattern)
        {
            if (c is '*' or '?')
            {
                WildcardCount++;
            }
        }
    }

    public string Pattern { get; }

    public int WildcardCount { get; }

    public static bool IsGlob(string key) => key.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>Precedence between two globs: fewer wildcards first, then the longer pattern; 0 when neither is more specific.</summary>
    public static int CompareSpecificity(GlobPattern a, GlobPattern b) =>
        a.WildcardCount != b.WildcardCount ? a.WildcardCount.CompareTo(b.WildcardCount) : b.Pattern.Length.CompareTo(a.Pattern.Length);

    /// <summary>Iterative matching with backtracking to the last star: linear in practice, no regex.</summary>
    public bool IsMatch(string text)
    {
        var p = Pattern.AsSpan();
        var t = text.AsSpan();
        int pi = 0, ti = 0, star = -1, mark = 0;
        while (ti < t.Length)
        {
            if (pi < p.Length && (p[pi] == '?' || p[pi] == t[ti]))
            {
                pi++;
                ti++;
            }
            else if (pi < p.Length && p[pi] == '*')
            {
                star = pi++;
                mark = ti;
            }
            else if (star >= 0)
            {
                pi = star + 1;
                ti = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (pi < p.Length && p[pi] == '*')
        {
            pi++;
        }

        return pi == p.Length;
    }

    public override string ToString() => Pattern;
}
