using System.Buffers;

namespace PolicyLayer.Policies;

/// <summary>
/// Looks a tool name up among exact keys and globs: the exact name first, else the most specific glob
/// (fewest wildcards, then the longest pattern, then document order), found through a <see cref="GlobIndex"/>.
/// </summary>
/// <remarks>
/// Built in one pass over the entries and one sort of integers: every key is filed in one table (so that a key written
/// twice is noticed, <see cref="DuplicateKey"/>), and the globs are ranked by a packed sort key rather than by
/// comparisons through a delegate. Nothing grows or is copied; the working arrays come from the pool.
/// </remarks>
internal sealed class NameMatcher<T>
{
    // Every key: an exact name to its slot in _exactValues (0 or more), a glob to -1, so that a name spelled like a glob
    // never matches the glob's entry as an exact name.
    private readonly Dictionary<string, int> _keys;
    private readonly T[] _exactValues;

    // The globs most specific first, and their values at the same ranks: the index shares the globs' array.
    private readonly GlobPattern[] _globs;
    private readonly T[] _globValues;
    private readonly GlobIndex _index;

    public NameMatcher(IEnumerable<KeyValuePair<string, T>> entries)
        : this((entries as KeyValuePair<string, T>[] ?? [.. entries]).AsSpan())
    {
    }

    /// <summary>Builds the matcher from the document's entries in document order.</summary>
    public NameMatcher(ReadOnlySpan<KeyValuePair<string, T>> entries)
    {
        // One scan of each key: where its wildcards are, if any. Globs are kept aside by their entry's position.
        var globAt = ArrayPool<int>.Shared.Rent(entries.Length);
        var shapes = ArrayPool<GlobPattern>.Shared.Rent(entries.Length);
        var globCount = 0;
        for (var i = 0; i < entries.Length; i++)
        {
            if (GlobPattern.TryCreate(entries[i].Key, out var glob))
            {
                globAt[globCount] = i;
                shapes[globCount++] = glob;
            }
        }

        var keys = new Dictionary<string, int>(entries.Length, StringComparer.Ordinal);
        var exactValues = new T[entries.Length - globCount];
        var exactCount = 0;
        var nextGlob = 0;
        for (var i = 0; i < entries.Length; i++)
        {
            var (key, value) = entries[i];
            if (nextGlob < globCount && globAt[nextGlob] == i)
            {
                nextGlob++;
                if (!keys.TryAdd(key, -1))
                {
                    DuplicateKey ??= key;
                }

                continue;
            }

            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(keys, key, out var exists);
            if (exists)
            {
                // The last value wins, as a JSON object's last member would; the reader reports the key.
                DuplicateKey ??= key;
                exactValues[slot] = value;
                continue;
            }

            slot = exactCount;
            exactValues[exactCount++] = value;
        }

        var ranked = Rank(shapes.AsSpan(0, globCount));
        var globs = new GlobPattern[globCount];
        var globValues = new T[globCount];
        for (var rank = 0; rank < globCount; rank++)
        {
            var g = ranked[rank];
            globs[rank] = shapes[g];
            globValues[rank] = entries[globAt[g]].Value;
        }

        ArrayPool<int>.Shared.Return(ranked);
        ArrayPool<int>.Shared.Return(globAt);
        ArrayPool<GlobPattern>.Shared.Return(shapes, clearArray: true);

        _keys = keys;
        _exactValues = exactCount == exactValues.Length ? exactValues : exactValues[..exactCount];
        _globs = globs;
        _globValues = globValues;
        _index = new GlobIndex(globs);
    }

    public static NameMatcher<T> Empty { get; } = new([]);

    public int Count => _exactValues.Length + _globs.Length;

    /// <summary>The first key (in document order) written a second time, or null when every key is distinct.</summary>
    public string? DuplicateKey { get; }

    /// <summary>
    /// The globs' positions among <paramref name="globs"/> (document order), most specific first: fewest wildcards, then the
    /// longest pattern, then document order. A rented array; its first <c>globs.Length</c> items are the answer.
    /// </summary>
    private static int[] Rank(ReadOnlySpan<GlobPattern> globs)
    {
        var order = ArrayPool<int>.Shared.Rent(globs.Length);
        var packed = ArrayPool<ulong>.Shared.Rent(globs.Length);
        var fits = globs.Length <= GlobPattern.PackLimit;
        for (var i = 0; i < globs.Length && fits; i++)
        {
            // Wildcards, then the length reversed (longer first), then the position: a sort of integers gives the order.
            var glob = globs[i];
            fits = glob.WildcardCount <= GlobPattern.PackLimit && glob.Pattern.Length <= GlobPattern.PackLimit;
            packed[i] = ((ulong)glob.WildcardCount << 42) | ((ulong)(GlobPattern.PackLimit - glob.Pattern.Length) << 21) | (uint)i;
        }

        if (fits)
        {
            packed.AsSpan(0, globs.Length).Sort();
            for (var rank = 0; rank < globs.Length; rank++)
            {
                order[rank] = (int)(packed[rank] & GlobPattern.PackLimit);
            }
        }
        else
        {
            // A key of more than two million characters: compare them instead.
            for (var i = 0; i < globs.Length; i++)
            {
                order[i] = i;
            }

            var array = globs.ToArray();
            order.AsSpan(0, globs.Length).Sort((a, b) => GlobPattern.CompareSpecificity(array[a], array[b]) is var c and not 0 ? c : a.CompareTo(b));
        }

        ArrayPool<ulong>.Shared.Return(packed);
        return order;
    }

    /// <summary>Every key that matches <paramref name="name"/> in precedence order: the exact key, then globs from most to least specific (for explanations).</summary>
    public IEnumerable<KeyValuePair<string, T>> MatchAll(string name)
    {
        if (TryMatchExact(name, out var exact))
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
        ref var slot = ref Find(name, out matchedKey);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot))
        {
            value = default!;
            return false;
        }

        value = slot;
        return true;
    }

    /// <summary>
    /// The value slot of the key that <paramref name="name"/> matches (the exact name, else the most specific glob), so
    /// that a value made on first use can be kept there; a null reference when nothing matches.
    /// </summary>
    public ref T Find(string name, out string? matchedKey)
    {
        if (_keys.TryGetValue(name, out var slot) && slot >= 0)
        {
            matchedKey = name;
            return ref _exactValues[slot];
        }

        if (_index.TryMatch(name, out var rank))
        {
            matchedKey = _globs[rank].Pattern;
            return ref _globValues[rank];
        }

        matchedKey = null;
        return ref System.Runtime.CompilerServices.Unsafe.NullRef<T>();
    }

    private bool TryMatchExact(string name, out T value)
    {
        if (_keys.TryGetValue(name, out var slot) && slot >= 0)
        {
            value = _exactValues[slot];
            return true;
        }

        value = default!;
        return false;
    }
}

/// <summary>
/// A tool-name glob: <c>*</c> any run of characters, <c>?</c> one character; everything else literal. A value kept in
/// arrays (no object per glob), with where its first and last wildcards are, found once.
/// </summary>
internal readonly struct GlobPattern
{
    /// <summary>The largest count or length packed into a sort key (21 bits); larger globs are ranked by comparison.</summary>
    internal const int PackLimit = (1 << 21) - 1;

    public GlobPattern(string pattern)
    {
        Pattern = pattern;
        var span = pattern.AsSpan();
        var first = span.IndexOfAny('*', '?');
        if (first < 0)
        {
            LiteralPrefix = LiteralSuffix = pattern.Length;
            return;
        }

        var last = span.LastIndexOfAny('*', '?');
        LiteralPrefix = first;
        LiteralSuffix = pattern.Length - 1 - last;
        var between = span[first..(last + 1)];
        WildcardCount = between.Count('*') + between.Count('?');
    }

    public string Pattern { get; }

    public int WildcardCount { get; }

    /// <summary>How many literal characters come before the first wildcard.</summary>
    public int LiteralPrefix { get; }

    /// <summary>How many literal characters come after the last wildcard.</summary>
    public int LiteralSuffix { get; }

    public static bool IsGlob(string key) => key.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>The glob that <paramref name="key"/> spells, or false when it has no wildcard (an exact name).</summary>
    public static bool TryCreate(string key, out GlobPattern glob)
    {
        if (!IsGlob(key))
        {
            glob = default;
            return false;
        }

        glob = new GlobPattern(key);
        return true;
    }

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
