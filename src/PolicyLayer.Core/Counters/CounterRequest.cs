namespace PolicyLayer;

/// <summary>What one call asks of one counter: <see cref="Amount"/> units in the bucket of <see cref="ScopeKey"/>.</summary>
public readonly struct CounterRequest
{
    /// <summary>Creates a request.</summary>
    /// <param name="counter">The counter.</param>
    /// <param name="scopeKey">The caller's value for the counter's scope (the grant id for a grant counter); empty for global.</param>
    /// <param name="amount">The units to reserve; zero or more.</param>
    public CounterRequest(CounterDefinition counter, string scopeKey, long amount)
    {
        ArgumentNullException.ThrowIfNull(counter);
        ArgumentNullException.ThrowIfNull(scopeKey);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Counter = counter;
        ScopeKey = scopeKey;
        Amount = amount;
    }

    /// <summary>The counter.</summary>
    public CounterDefinition Counter { get; }

    /// <summary>The caller's value for the counter's scope.</summary>
    public string ScopeKey { get; }

    /// <summary>The units asked for.</summary>
    public long Amount { get; }
}
