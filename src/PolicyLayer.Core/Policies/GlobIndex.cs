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
    private readonly ChunkedArray<GlobPattern> _globs;
    private readonly LiteralEnds _byPrefix;
    private readonly LiteralEnds _bySuffix;
    private readonly ChunkedArray<int> _unanchored;

    /// <param name="globs">The globs in precedence order: index 0 wins over every other that matches.</param>
    /// <param name="endHashes">By rank, the hash of the literal end each glob is filed under (<see cref="GlobShape.EndHash"/>), found as it was read.</param>
    public GlobIndex(ChunkedArray<GlobPattern> globs, ReadOnlySpan<int> endHashes)
    {
        _globs = globs;

        // One pass over the globs: the ranks filed under a prefix, under a suffix (each glob under its longer literal end, the
        // prefix on a tie), and under neither, each list ascending.
        var pool = System.Buffers.ArrayPool<int>.Shared;
        var count = Math.Max(globs.Length, 1);
        int[] prefixed = pool.Rent(count), suffixed = pool.Rent(count), unanchored = pool.Rent(count);
        int prefixes = 0, suffixes = 0, others = 0;
        for (var rank = 0; rank < globs.Length; rank++)
        {
            ref readonly var glob = ref globs[rank];
            switch (GlobShape.Filing(glob.LiteralPrefix, glob.LiteralSuffix))
            {
                case GlobEnd.None:
                    unanchored[others++] = rank;
                    break;
                case GlobEnd.Prefix:
                    prefixed[prefixes++] = rank;
                    break;
                default:
                    suffixed[suffixes++] = rank;
                    break;
            }
        }

        _unanchored = ChunkedArray<int>.Uninitialized(others);
        for (var i = 0; i < others; i++)
        {
            _unanchored[i] = unanchored[i];
        }

        _byPrefix = new LiteralEnds(globs, suffix: false, prefixed.AsSpan(0, prefixes), endHashes);
        _bySuffix = new LiteralEnds(globs, suffix: true, suffixed.AsSpan(0, suffixes), endHashes);
        pool.Return(prefixed);
        pool.Return(suffixed);
        pool.Return(unanchored);
        Repeats = FindRepeats();
    }

    /// <summary>
    /// The ranks of the globs written a second time (each equal to a glob of lower rank), ascending; empty when every glob
    /// is distinct. Equal globs share their literal end, so only the globs of a shared end (and those with none) are compared.
    /// </summary>
    public int[] Repeats { get; }

    private int[] FindRepeats()
    {
        // The usual policy: every end distinct, at most one glob without an end, so nothing to compare.
        var candidates = _byPrefix.SharedCount + _bySuffix.SharedCount + (_unanchored.Length > 1 ? _unanchored.Length : 0);
        if (candidates == 0)
        {
            return [];
        }

        var pool = System.Buffers.ArrayPool<int>.Shared;
        var ranks = pool.Rent(candidates);
        var filled = _byPrefix.CopySharedRanks(ranks);
        filled += _bySuffix.CopySharedRanks(ranks.AsSpan(filled));
        for (var i = 0; i < _unanchored.Length && _unanchored.Length > 1; i++)
        {
            ranks[filled++] = _unanchored[i];
        }

        // A table of ranks plus one by the glob's text. Equal globs are in one run, whose ranks ascend: the first filed of
        // equal globs is the lowest ranked.
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)candidates * 2);
        var (table, mask) = (pool.Rent(size), size - 1);
        table.AsSpan(0, size).Clear();
        List<int>? repeats = null;
        foreach (var rank in ranks.AsSpan(0, filled))
        {
            var text = _globs[rank].Text;
            var slot = KeyHash.Of(text) & mask;
            while (table[slot] != 0 && !_globs[table[slot] - 1].Text.SequenceEqual(text))
            {
                slot = (slot + 1) & mask;
            }

            if (table[slot] == 0)
            {
                table[slot] = rank + 1;
            }
            else
            {
                (repeats ??= []).Add(rank);
            }
        }

        pool.Return(ranks);
        pool.Return(table);
        if (repeats is null)
        {
            return [];
        }

        repeats.Sort();
        return [.. repeats];
    }

    /// <summary>The size in bytes of every array the index keeps, for the tests.</summary>
    internal IEnumerable<long> ArrayBytes =>
        _unanchored.ChunkLengths.Select(length => length * 4L).Concat(_byPrefix.ArrayBytes).Concat(_bySuffix.ArrayBytes);

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

            best = _byPrefix.FirstMatch(span[..length], name, best);
        }

        foreach (var length in _bySuffix.Lengths)
        {
            if (length > span.Length)
            {
                break;
            }

            best = _bySuffix.FirstMatch(span[^length..], name, best);
        }

        best = FirstMatch(_globs, _unanchored, 0, _unanchored.Length, name, best);
        rank = best;
        return best != int.MaxValue;
    }

    /// <summary>The lowest rank in <paramref name="ranks"/>[<paramref name="from"/>..<paramref name="to"/>] (ascending) below <paramref name="best"/> whose glob matches, else <paramref name="best"/>.</summary>
    private static int FirstMatch(ChunkedArray<GlobPattern> globs, ChunkedArray<int> ranks, int from, int to, string name, int best)
    {
        for (var i = from; i < to; i++)
        {
            var rank = ranks[i];
            if (rank >= best)
            {
                break;
            }

            if (globs[rank].IsMatch(name))
            {
                return rank;
            }
        }

        return best;
    }

    /// <summary>
    /// Glob ranks filed by literal end: each distinct end is a run of one shared array of ranks, found through an
    /// open-addressing table of its own. An end's text is not copied: a run points at the first glob filed under it,
    /// whose pattern holds the text. Built in two passes over the globs (find each glob's run, then fill in rank order),
    /// so that nothing grows.
    /// </summary>
    private sealed class LiteralEnds
    {
        private readonly ChunkedArray<GlobPattern> _globs;
        private readonly bool _suffix;

        // _table[slot] is a run plus one, 0 where empty; its length is a power of two, at most two thirds full.
        private readonly ChunkedArray<int> _table;
        private readonly int _mask;

        // Per run: the rank of the glob whose pattern holds its end, its end's hash, and where its ranks start in _ranks
        // (with one run past the last, for where the last run's ranks end). When every end is distinct, a run's one glob
        // is its holder: _ranks is then empty, and a run's start unused.
        private readonly ChunkedArray<Run> _runs;
        private readonly ChunkedArray<int> _ranks;

        /// <param name="globs">Every glob, in precedence order.</param>
        /// <param name="suffix">Whether this table files suffixes (else prefixes).</param>
        /// <param name="ranks">The ranks of the globs filed here, ascending.</param>
        /// <param name="endHashes">Every glob's end's hash, by rank.</param>
        public LiteralEnds(ChunkedArray<GlobPattern> globs, bool suffix, ReadOnlySpan<int> ranks, ReadOnlySpan<int> endHashes)
        {
            _globs = globs;
            _suffix = suffix;
            var count = ranks.Length;
            // At most two thirds full, as the keys' table.
            _table = new ChunkedArray<int>(Math.Max(2, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)((count * 3 / 2) + 1))));
            _mask = _table.Length - 1;

            // First pass, in rank order: each glob's run (made when its end is new, in a table of one run per glob, kept
            // when every end is distinct; a run's Start counts its size until the second pass), and each end's length.
            var pool = System.Buffers.ArrayPool<int>.Shared;
            var runOf = pool.Rent(Math.Max(count, 1));
            var lengths = pool.Rent(Math.Max(count, 1));
            var found = ChunkedArray<Run>.Uninitialized(count);
            var runs = 0;
            var longest = 0;
            var table = _table;
            var mask = _mask;
            for (var i = 0; i < count; i++)
            {
                var rank = ranks[i];
                var hash = endHashes[rank];
                var slot = hash & mask;
                int run;
                while (true)
                {
                    ref var cell = ref table[slot];
                    if (cell == 0)
                    {
                        run = runs++;
                        cell = run + 1;
                        found[run] = new Run(rank, hash, 1);
                        var length = suffix ? globs[rank].LiteralSuffix : globs[rank].LiteralPrefix;
                        lengths[run] = length;
                        longest = Math.Max(longest, length);
                        break;
                    }

                    run = cell - 1;
                    ref var held = ref found[run];
                    if (held.Hash == hash && EndOf(globs[held.Holder]).SequenceEqual(EndOf(globs[rank])))
                    {
                        // A run's second glob makes it shared: both are counted.
                        SharedCount += held.Start == 1 ? 2 : 1;
                        held.Start++;
                        break;
                    }

                    slot = (slot + 1) & mask;
                }

                runOf[i] = run;
            }

            if (runs == count)
            {
                // Every end distinct (the usual policy): a run's one glob is its holder, and no list of ranks is kept.
                _runs = found;
            }
            else
            {
                // Fewer runs than globs: kept in a table of their own size, with their ranks. Each run starts where the
                // previous one ends; the second pass fills them in rank order, so each is ascending.
                _ranks = ChunkedArray<int>.Uninitialized(count);
                _runs = ChunkedArray<Run>.Uninitialized(runs + 1);
                var next = pool.Rent(runs);
                var start = 0;
                for (var run = 0; run < runs; run++)
                {
                    var held = found[run];
                    (next[run], start, _runs[run]) = (start, start + held.Start, held with { Start = start });
                }

                for (var i = 0; i < count; i++)
                {
                    _ranks[next[runOf[i]]++] = ranks[i];
                }

                pool.Return(next);
                _runs[runs] = new Run(-1, 0, count);
            }

            Lengths = Distinct(lengths.AsSpan(0, runs), longest);
            pool.Return(runOf);
            pool.Return(lengths);
        }

        /// <summary>The distinct values of <paramref name="lengths"/> (which it reorders), ascending.</summary>
        private static int[] Distinct(Span<int> lengths, int longest)
        {
            // Marked by length, unless an end is longer than there are runs and a few thousand (then sorted).
            var distinct = 0;
            if (longest <= Math.Max(lengths.Length, 4096))
            {
                var seen = System.Buffers.ArrayPool<bool>.Shared.Rent(longest + 1);
                seen.AsSpan(0, longest + 1).Clear();
                foreach (var length in lengths)
                {
                    seen[length] = true;
                }

                for (var length = 0; length <= longest; length++)
                {
                    if (seen[length])
                    {
                        lengths[distinct++] = length;
                    }
                }

                System.Buffers.ArrayPool<bool>.Shared.Return(seen);
            }
            else
            {
                lengths.Sort();
                for (var i = 0; i < lengths.Length; i++)
                {
                    if (i == 0 || lengths[i] != lengths[i - 1])
                    {
                        lengths[distinct++] = lengths[i];
                    }
                }
            }

            return lengths[..distinct].ToArray();
        }

        /// <summary>The distinct lengths of the ends, ascending.</summary>
        public int[] Lengths { get; }

        /// <summary>How many globs share their end with another.</summary>
        public int SharedCount { get; }

        /// <summary>Writes the ranks of the globs that share their end with another into <paramref name="into"/>, run by run (each ascending), and says how many.</summary>
        public int CopySharedRanks(Span<int> into)
        {
            var written = 0;

            // Only when some end is shared: _runs then has one run past the last.
            for (var run = 0; written < SharedCount; run++)
            {
                var (from, to) = (_runs[run].Start, _runs[run + 1].Start);
                for (var i = from; i < to && to - from > 1; i++)
                {
                    into[written++] = _ranks[i];
                }
            }

            return written;
        }

        /// <summary>The size in bytes of every array the table keeps, for the tests.</summary>
        internal IEnumerable<long> ArrayBytes =>
            _table.ChunkLengths.Concat(_ranks.ChunkLengths).Select(length => length * 4L)
                .Concat(_runs.ChunkLengths.Select(length => (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<Run>()));

        /// <summary>
        /// The lowest rank below <paramref name="best"/> of a glob filed under <paramref name="end"/> that matches
        /// <paramref name="name"/>, else <paramref name="best"/>.
        /// </summary>
        public int FirstMatch(ReadOnlySpan<char> end, string name, int best)
        {
            var hash = KeyHash.Of(end);
            var slot = hash & _mask;
            while (_table[slot] - 1 is var run and >= 0)
            {
                ref readonly var found = ref _runs[run];
                if (found.Hash == hash && EndOf(_globs[found.Holder]).SequenceEqual(end))
                {
                    if (_ranks.Length == 0)
                    {
                        return found.Holder < best && _globs[found.Holder].IsMatch(name) ? found.Holder : best;
                    }

                    return GlobIndex.FirstMatch(_globs, _ranks, found.Start, _runs[run + 1].Start, name, best);
                }

                slot = (slot + 1) & _mask;
            }

            return best;
        }

        /// <summary>The literal end this table files <paramref name="glob"/> under.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private ReadOnlySpan<char> EndOf(in GlobPattern glob) => _suffix
            ? glob.Text[(glob.Length - glob.LiteralSuffix)..]
            : glob.Text[..glob.LiteralPrefix];

        /// <summary>A distinct end: the rank of the glob whose pattern holds it, its hash, and where its ranks start.</summary>
        private record struct Run(int Holder, int Hash, int Start);
    }
}
