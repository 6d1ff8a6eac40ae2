namespace PolicyLayer;

/// <summary>How many counter windows an <see cref="InMemoryCounterStore"/> holds, against its optional maximum.</summary>
internal sealed class LiveCounterBudget(int? max)
{
    private int _count;

    /// <summary>The live windows.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Counts one more window, or refuses it when the store is full.</summary>
    /// <exception cref="CounterStoreFullException">The store holds <c>max</c> windows already.</exception>
    public void Take()
    {
        if (Interlocked.Increment(ref _count) > max)
        {
            Interlocked.Decrement(ref _count);
            throw new CounterStoreFullException(
                $"the in-memory counter store holds {max:N0} live counters, its MaxLiveCounters, so a new scope cannot start a counter until others go quiet.");
        }
    }

    /// <summary>Counts one window fewer (retired, or made in a race and never stored).</summary>
    public void Return() => Interlocked.Decrement(ref _count);
}
