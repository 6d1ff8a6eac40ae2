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
    public GlobIndex(ChunkedArray<GlobPattern> globs)
    {
        _globs = globs;
        int prefixed = 0, suffixed = 0, unanchored = 0;
        for (var rank = 0; rank < globs.Length; rank++)
        {
            switch (Anchor(globs[rank]))
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

        _unanchored = new ChunkedArray<int>(unanchored);
        unanchored = 0;
        for (var rank = 0; rank < globs.Length; rank++)
        {
            if (Anchor(globs[rank]) == Ends.None)
            {
                _unanchored[unanchored++] = rank;
            }
        }

        _byPrefix = new LiteralEnds(globs, Ends.Prefix, prefixed);
        _bySuffix = new LiteralEnds(globs, Ends.Suffix, suffixed);
    }

    /// <summary>The size in bytes of every array the index keeps, for the tests.</summary>
    internal IEnumerable<long> ArrayBytes =>
        _unanchored.ChunkLengths.Select(length => length * 4L).Concat(_byPrefix.ArrayBytes).Concat(_bySuffix.ArrayBytes);

    private enum Ends
    {
        None,
        Prefix,
        Suffix,
    }

    /// <summary>Which literal end a glob is filed under: the longer of the text before its first wildcard and after its last (the prefix on a tie).</summary>
    private static Ends Anchor(GlobPattern glob) =>
        glob.LiteralPrefix == 0 && glob.LiteralSuffix == 0 ? Ends.None
        : glob.LiteralPrefix >= glob.LiteralSuffix ? Ends.Prefix
        : Ends.Suffix;

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

            if (_byPrefix.TryGetRanks(span[..length], out var from, out var to))
            {
                best = FirstMatch(_byPrefix.Ranks, from, to, name, best);
            }
        }

        foreach (var length in _bySuffix.Lengths)
        {
            if (length > span.Length)
            {
                break;
            }

            if (_bySuffix.TryGetRanks(span[^length..], out var from, out var to))
            {
                best = FirstMatch(_bySuffix.Ranks, from, to, name, best);
            }
        }

        best = FirstMatch(_unanchored, 0, _unanchored.Length, name, best);
        rank = best;
        return best != int.MaxValue;
    }

    /// <summary>The lowest rank in <paramref name="ranks"/>[<paramref name="from"/>..<paramref name="to"/>] (ascending) below <paramref name="best"/> whose glob matches, else <paramref name="best"/>.</summary>
    private int FirstMatch(ChunkedArray<int> ranks, int from, int to, string name, int best)
    {
        for (var i = from; i < to; i++)
        {
            var rank = ranks[i];
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
    /// Glob ranks filed by literal end: each distinct end is a run of one shared array of ranks, found through an
    /// open-addressing table of its own. An end's text is not copied: a run points at the first glob filed under it,
    /// whose pattern holds the text. Built in two passes over the globs (find each glob's run, then fill in rank order),
    /// so that nothing grows.
    /// </summary>
    private sealed class LiteralEnds
    {
        private readonly ChunkedArray<GlobPattern> _globs;
        private readonly bool _suffix;

        // _table[slot] is a run plus one, 0 where empty; its length is a power of two at least twice the runs.
        private readonly ChunkedArray<int> _table;
        private readonly int _mask;

        // Per run: the rank of the glob whose pattern holds its end, its end's hash, and where its ranks start.
        private readonly ChunkedArray<int> _holders;
        private readonly ChunkedArray<int> _hashes;
        private readonly ChunkedArray<int> _starts;
        private readonly ChunkedArray<int> _ranks;

        /// <param name="globs">Every glob, in precedence order.</param>
        /// <param name="kind">Which end this table files: the globs anchored there are taken, the others skipped.</param>
        /// <param name="count">How many globs are anchored there.</param>
        public LiteralEnds(ChunkedArray<GlobPattern> globs, Ends kind, int count)
        {
            _globs = globs;
            _suffix = kind == Ends.Suffix;
            _table = new ChunkedArray<int>(Math.Max(2, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(count, 1) * 2)));
            _mask = _table.Length - 1;

            // First pass, in rank order: each glob's run (made when its end is new), and each run's size.
            var runOf = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
            var holders = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
            var hashes = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
            var sizes = System.Buffers.ArrayPool<int>.Shared.Rent(count + 1);
            var runs = 0;
            var filed = 0;
            for (var rank = 0; rank < globs.Length; rank++)
            {
                if (Anchor(globs[rank]) != kind)
                {
                    continue;
                }

                var end = EndOf(globs[rank]);
                var hash = KeyHash.Of(end);
                var slot = hash & _mask;
                int run;
                while (true)
                {
                    run = _table[slot] - 1;
                    if (run < 0)
                    {
                        run = runs++;
                        _table[slot] = run + 1;
                        holders[run] = rank;
                        hashes[run] = hash;
                        sizes[run] = 0;
                        break;
                    }

                    if (hashes[run] == hash && EndOf(globs[holders[run]]).SequenceEqual(end))
                    {
                        break;
                    }

                    slot = (slot + 1) & _mask;
                }

                sizes[run]++;
                runOf[filed++] = run;
            }

            // Each run starts where the previous one ends; the second pass fills them in rank order, so each is ascending.
            _holders = new ChunkedArray<int>(runs);
            _hashes = new ChunkedArray<int>(runs);
            _starts = new ChunkedArray<int>(runs + 1);
            for (var run = 0; run < runs; run++)
            {
                _holders[run] = holders[run];
                _hashes[run] = hashes[run];
                _starts[run + 1] = _starts[run] + sizes[run];
                sizes[run] = _starts[run];
            }

            _ranks = new ChunkedArray<int>(filed);
            filed = 0;
            for (var rank = 0; rank < globs.Length; rank++)
            {
                if (Anchor(globs[rank]) == kind)
                {
                    _ranks[sizes[runOf[filed++]]++] = rank;
                }
            }

            // The distinct lengths of the ends, ascending: marked by length, unless an end is longer than there are runs
            // and a few thousand (then sorted).
            var lengths = sizes.AsSpan(0, runs);
            var longest = 0;
            for (var run = 0; run < runs; run++)
            {
                lengths[run] = EndOf(globs[_holders[run]]).Length;
                longest = Math.Max(longest, lengths[run]);
            }

            var distinct = 0;
            if (longest <= Math.Max(runs, 4096))
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

            Lengths = lengths[..distinct].ToArray();
            System.Buffers.ArrayPool<int>.Shared.Return(runOf);
            System.Buffers.ArrayPool<int>.Shared.Return(holders);
            System.Buffers.ArrayPool<int>.Shared.Return(hashes);
            System.Buffers.ArrayPool<int>.Shared.Return(sizes);
        }

        /// <summary>The distinct lengths of the ends, ascending.</summary>
        public int[] Lengths { get; }

        /// <summary>The size in bytes of every array the table keeps, for the tests.</summary>
        internal IEnumerable<long> ArrayBytes =>
            new[] { _table, _holders, _hashes, _starts, _ranks }.SelectMany(array => array.ChunkLengths).Select(length => length * 4L);

        /// <summary>Every run's ranks, one run after another.</summary>
        public ChunkedArray<int> Ranks => _ranks;

        /// <summary>Where in <see cref="Ranks"/> the ranks (ascending) of the globs filed under <paramref name="end"/> are.</summary>
        public bool TryGetRanks(ReadOnlySpan<char> end, out int from, out int to)
        {
            var hash = KeyHash.Of(end);
            var slot = hash & _mask;
            while (_table[slot] - 1 is var run and >= 0)
            {
                if (_hashes[run] == hash && EndOf(_globs[_holders[run]]).SequenceEqual(end))
                {
                    (from, to) = (_starts[run], _starts[run + 1]);
                    return true;
                }

                slot = (slot + 1) & _mask;
            }

            (from, to) = (0, 0);
            return false;
        }

        /// <summary>The literal end this table files <paramref name="glob"/> under.</summary>
        private ReadOnlySpan<char> EndOf(GlobPattern glob) => _suffix
            ? glob.Text[(glob.Length - glob.LiteralSuffix)..]
            : glob.Text[..glob.LiteralPrefix];
    }
}
