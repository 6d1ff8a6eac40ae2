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
    private readonly LiteralEnds _byPrefix;
    private readonly LiteralEnds _bySuffix;
    private readonly int[] _unanchored;

    /// <param name="globs">The globs in precedence order: index 0 wins over every other that matches.</param>
    public GlobIndex(GlobPattern[] globs)
    {
        _globs = globs;
        int prefixed = 0, suffixed = 0, unanchored = 0;
        foreach (var glob in globs)
        {
            switch (Anchor(glob.Pattern, out _))
            {
                case Ends.Prefix:
                    prefixed++;
                    break;
                case Ends.Suffix:
                    suffixed++;
                    break;
                default:
                    unanchored++;
                    break;
            }
        }

        // Sized from the counts so that nothing grows: at most one distinct end per glob.
        var prefixes = new LiteralEnds.Builder(prefixed);
        var suffixes = new LiteralEnds.Builder(suffixed);
        foreach (var glob in globs)
        {
            switch (Anchor(glob.Pattern, out var end))
            {
                case Ends.Prefix:
                    prefixes.Count(end);
                    break;
                case Ends.Suffix:
                    suffixes.Count(end);
                    break;
            }
        }

        // Second pass, in rank order, so that each end's ranks come out ascending (precedence order).
        prefixes.StartFilling();
        suffixes.StartFilling();
        _unanchored = new int[unanchored];
        unanchored = 0;
        for (var rank = 0; rank < globs.Length; rank++)
        {
            switch (Anchor(globs[rank].Pattern, out var end))
            {
                case Ends.Prefix:
                    prefixes.Fill(end, rank);
                    break;
                case Ends.Suffix:
                    suffixes.Fill(end, rank);
                    break;
                default:
                    _unanchored[unanchored++] = rank;
                    break;
            }
        }

        _byPrefix = prefixes.Build();
        _bySuffix = suffixes.Build();
    }

    /// <summary>The working arrays of a <see cref="LiteralEnds.Builder"/>, from the pool: at 100,000 globs each would be a large object.</summary>
    private static int[] Rent(int length) => System.Buffers.ArrayPool<int>.Shared.Rent(length);

    private static void Return(int[] array) => System.Buffers.ArrayPool<int>.Shared.Return(array);

    private enum Ends
    {
        None,
        Prefix,
        Suffix,
    }

    /// <summary>Which literal end a glob is filed under: the longer of the text before its first wildcard and after its last (the prefix on a tie).</summary>
    private static Ends Anchor(string pattern, out ReadOnlySpan<char> end)
    {
        var prefix = pattern.AsSpan().IndexOfAny('*', '?');
        var suffix = pattern.Length - 1 - pattern.AsSpan().LastIndexOfAny('*', '?');
        if (prefix == 0 && suffix == 0)
        {
            end = default;
            return Ends.None;
        }

        if (prefix >= suffix)
        {
            end = pattern.AsSpan(0, prefix);
            return Ends.Prefix;
        }

        end = pattern.AsSpan(pattern.Length - suffix);
        return Ends.Suffix;
    }

    /// <summary>The rank of the first glob that matches <paramref name="name"/>; false when none does.</summary>
    public bool TryMatch(string name, out int rank)
    {
        var best = int.MaxValue;
        var span = name.AsSpan();
        foreach (var length in _byPrefix.Lengths)
        {
            if (length > span.Length)
            {
                break;
            }

            if (_byPrefix.TryGetRanks(span[..length], out var ranks))
            {
                best = FirstMatch(ranks, name, best);
            }
        }

        foreach (var length in _bySuffix.Lengths)
        {
            if (length > span.Length)
            {
                break;
            }

            if (_bySuffix.TryGetRanks(span[^length..], out var ranks))
            {
                best = FirstMatch(ranks, name, best);
            }
        }

        best = FirstMatch(_unanchored, name, best);
        rank = best;
        return best != int.MaxValue;
    }

    /// <summary>The lowest rank in <paramref name="ranks"/> (ascending) below <paramref name="best"/> whose glob matches, else <paramref name="best"/>.</summary>
    private int FirstMatch(ReadOnlySpan<int> ranks, string name, int best)
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

    /// <summary>
    /// Glob ranks filed by literal end: each distinct end maps to a run of one shared array of ranks. Built in two passes
    /// over the globs (count, then fill), so that nothing grows or is copied; an end's text is made into a string once.
    /// </summary>
    private sealed class LiteralEnds
    {
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _runs;
        private readonly int[] _starts;
        private readonly int[] _ranks;

        private LiteralEnds(Dictionary<string, int> runs, int[] starts, int[] ranks, int[] lengths)
        {
            _runs = runs.GetAlternateLookup<ReadOnlySpan<char>>();
            _starts = starts;
            _ranks = ranks;
            Lengths = lengths;
        }

        /// <summary>The distinct lengths of the ends, ascending.</summary>
        public int[] Lengths { get; }

        /// <summary>The ranks (ascending) of the globs filed under <paramref name="end"/>.</summary>
        public bool TryGetRanks(ReadOnlySpan<char> end, out ReadOnlySpan<int> ranks)
        {
            if (_runs.TryGetValue(end, out var run))
            {
                ranks = _ranks.AsSpan(_starts[run], _starts[run + 1] - _starts[run]);
                return true;
            }

            ranks = default;
            return false;
        }

        public sealed class Builder
        {
            private readonly Dictionary<string, int> _runs;
            private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

            // Per run: its size while counting, then where its next rank goes while filling (pooled).
            private readonly int[] _next;
            private int[] _ranks = [];
            private int _total;

            /// <param name="capacity">The most globs that can be filed here (each a distinct end at most).</param>
            public Builder(int capacity)
            {
                _runs = new(capacity, StringComparer.Ordinal);
                _lookup = _runs.GetAlternateLookup<ReadOnlySpan<char>>();
                _next = Rent(capacity + 1);
            }

            /// <summary>First pass: one more glob filed under <paramref name="end"/>.</summary>
            public void Count(ReadOnlySpan<char> end)
            {
                ref var run = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_lookup, end, out var exists);
                if (!exists)
                {
                    run = _runs.Count - 1;
                    _next[run] = 0;
                }

                _next[run]++;
                _total++;
            }

            /// <summary>Between the passes: each end's run starts where the previous one's ends.</summary>
            public void StartFilling()
            {
                var start = 0;
                for (var run = 0; run < _runs.Count; run++)
                {
                    (_next[run], start) = (start, start + _next[run]);
                }

                _ranks = new int[_total];
            }

            /// <summary>Second pass, in rank order: the glob of <paramref name="rank"/> is filed under <paramref name="end"/>.</summary>
            public void Fill(ReadOnlySpan<char> end, int rank) => _ranks[_next[_lookup[end]]++] = rank;

            public LiteralEnds Build()
            {
                // Filling moved each run's start to the next run's; the starts are the ends shifted by one.
                var starts = new int[_runs.Count + 1];
                Array.Copy(_next, 0, starts, 1, _runs.Count);
                Return(_next);
                var lengths = new SortedSet<int>();
                foreach (var end in _runs.Keys)
                {
                    lengths.Add(end.Length);
                }

                return new LiteralEnds(_runs, starts, _ranks, [.. lengths]);
            }
        }
    }
}
