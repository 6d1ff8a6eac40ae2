namespace PolicyLayer;

/// <summary>Whether a reservation across several counters succeeded, and if not, which counter refused it.</summary>
public readonly struct CounterReservationResult
{
    private CounterReservationResult(int blockedIndex, TimeSpan retryAfter)
    {
        BlockedIndex = blockedIndex;
        RetryAfter = retryAfter;
    }

    /// <summary>The result of a reservation that took its units in every counter.</summary>
    public static CounterReservationResult Acquired { get; } = new(-1, TimeSpan.Zero);

    /// <summary>The result of a reservation that took nothing because counter <paramref name="blockedIndex"/> had no room.</summary>
    /// <param name="blockedIndex">The index, in the request list, of the counter that refused.</param>
    /// <param name="retryAfter">How long until that counter has room for the amount asked.</param>
    public static CounterReservationResult Blocked(int blockedIndex, TimeSpan retryAfter)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blockedIndex);
        return new(blockedIndex, retryAfter);
    }

    /// <summary>Whether every counter took its units.</summary>
    public bool IsAcquired => BlockedIndex < 0;

    /// <summary>
    /// The index of the counter that refused, or -1 when the reservation succeeded. When several
    /// counters had no room, the one that frees up last (the longest <see cref="RetryAfter"/>).
    /// </summary>
    public int BlockedIndex { get; }

    /// <summary>How long until the refusing counter has room; zero when acquired.</summary>
    public TimeSpan RetryAfter { get; }
}
