using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace PolicyLayer;

/// <summary>The windows of one counter definition in an <see cref="InMemoryCounterStore"/>, keyed by scope key.</summary>
internal sealed class CounterTable
{
    /// <summary>
    /// The most entries a window's log holds. A counter whose <see cref="CounterDefinition.Max"/> is
    /// larger (spend caps, busy global counters) keeps its times on a grid of about 1/1,022 of its
    /// window, so that no window ever spans more grid points than this.
    /// </summary>
    internal const int MaxEntries = 1024;

    /// <summary>Offsets span at most 2^30 quanta per window, leaving room below <see cref="int.MaxValue"/> before a rebase.</summary>
    internal const long OffsetsPerWindow = 1L << 30;

    private readonly LiveCounterBudget _live;

    internal CounterTable(CounterDefinition definition, int id, long timestampFrequency, LiveCounterBudget live)
    {
        _live = live;
        Definition = definition;
        Id = id;
        Max = definition.Max;
        WindowLength = TimeConversions.ToTimestampUnits(definition.Window, timestampFrequency);
        // A live entry's time lies in (now - window, now + quantum): at most window / quantum + 2 grid points.
        Quantum = ChooseQuantum(WindowLength, timestampFrequency, definition.Max > MaxEntries ? MaxEntries - 2 : OffsetsPerWindow);
        Capacity = (int)Math.Min(definition.Max, MaxEntries);
    }

    /// <summary>The definition the table was created for (any equal definition shares it).</summary>
    internal CounterDefinition Definition { get; }

    /// <summary>The order in which windows of different counters are locked; unique in the store.</summary>
    internal int Id { get; }

    /// <summary>The most units any window may hold.</summary>
    internal long Max { get; }

    /// <summary>The window's length in clock timestamp units, rounded up.</summary>
    internal long WindowLength { get; }

    /// <summary>The resolution of entry times in timestamp units: a unit's time is rounded up to it.</summary>
    internal long Quantum { get; }

    /// <summary>The most entries a window's ring grows to; the time grid keeps the log within it.</summary>
    internal int Capacity { get; }

    /// <summary>The live windows by scope key.</summary>
    internal ConcurrentDictionary<string, SlidingWindowLog> Windows { get; } = new();

    /// <summary>
    /// The finest resolution that divides a window into at most <paramref name="slots"/> steps, rounded
    /// up to a divisor (or a multiple) of one millisecond, so that times a whole number of milliseconds
    /// apart stay exact.
    /// </summary>
    internal static long ChooseQuantum(long windowLength, long timestampFrequency, long slots)
    {
        long quantum = Math.Max(1, ((windowLength - 1) / slots) + 1);
        if (timestampFrequency % 1000 != 0)
        {
            return quantum;
        }

        long perMillisecond = timestampFrequency / 1000;
        if (quantum >= perMillisecond)
        {
            return ((quantum + perMillisecond - 1) / perMillisecond) * perMillisecond;
        }

        while (perMillisecond % quantum != 0)
        {
            quantum++;
        }

        return quantum;
    }

    /// <summary>The longest scope key kept as it is; a longer one is kept as its hash (<see cref="StoredKey"/>).</summary>
    internal const int MaxStoredKeyLength = 128;

    /// <summary>Starts every hashed key, and no key kept as it is (a key that starts with it is hashed too).</summary>
    internal const string HashedKeyPrefix = "\u0001sha256:";

    /// <summary>Returns the window of <paramref name="scopeKey"/>, creating it atomically if there is none.</summary>
    internal SlidingWindowLog GetOrCreate(string scopeKey)
    {
        scopeKey = StoredKey(scopeKey);
        if (Windows.TryGetValue(scopeKey, out SlidingWindowLog? window))
        {
            return window;
        }

        _live.Take();
        var created = new SlidingWindowLog(this);
        window = Windows.GetOrAdd(scopeKey, created);
        if (!ReferenceEquals(window, created))
        {
            _live.Return(); // Another thread stored its window first.
        }

        return window;
    }

    /// <summary>Unlinks a window the sweep retired (under its lock).</summary>
    internal void Remove(KeyValuePair<string, SlidingWindowLog> pair)
    {
        if (Windows.TryRemove(pair))
        {
            _live.Return();
        }
    }

    /// <summary>The window of <paramref name="scopeKey"/>, if there is one.</summary>
    internal bool TryGetWindow(string scopeKey, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SlidingWindowLog? window) =>
        Windows.TryGetValue(StoredKey(scopeKey), out window);

    /// <summary>
    /// The key a window is stored under: the scope key itself, or, when it is longer than <see cref="MaxStoredKeyLength"/>
    /// (scope keys come from clients), the prefix and 192 bits of its SHA-256, so that a client's choice of key
    /// costs the store a bounded number of bytes. The prefix keeps hashed keys apart from every key kept as it is.
    /// </summary>
    internal static string StoredKey(string scopeKey)
    {
        if (scopeKey.Length <= MaxStoredKeyLength && !scopeKey.StartsWith(HashedKeyPrefix[0]))
        {
            return scopeKey;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(scopeKey.AsSpan()), hash);
        return HashedKeyPrefix + Convert.ToBase64String(hash[..24]);
    }
}
