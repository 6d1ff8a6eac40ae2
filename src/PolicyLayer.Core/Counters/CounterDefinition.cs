namespace PolicyLayer;

/// <summary>
/// A named counter of a policy: at most <see cref="Max"/> units in any interval of length
/// <see cref="Window"/>, kept separately for each value of <see cref="Scope"/>.
/// A counter has one definition wherever a policy names it; rules that name it share its budget.
/// </summary>
public sealed class CounterDefinition : IEquatable<CounterDefinition>
{
    /// <summary>Creates a counter definition.</summary>
    /// <param name="name">The counter's name in the policy.</param>
    /// <param name="max">The most units any window may hold; positive.</param>
    /// <param name="window">The length of the sliding window; positive, whole milliseconds.</param>
    /// <param name="scope">Whose calls the counter counts together.</param>
    public CounterDefinition(string name, long max, TimeSpan window, CounterScope scope)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.FromMilliseconds(1));
        if (!Enum.IsDefined(scope))
        {
            throw new ArgumentOutOfRangeException(nameof(scope), scope, "Unknown counter scope.");
        }

        Name = name;
        Max = max;
        Window = window;
        Scope = scope;
        _hashCode = HashCode.Combine(name, max, window, scope);
    }

    // Stores look a definition up on every call; its fields never change, so neither does its hash.
    private readonly int _hashCode;

    /// <summary>The counter's name in the policy.</summary>
    public string Name { get; }

    /// <summary>The most units any interval of length <see cref="Window"/> may hold.</summary>
    public long Max { get; }

    /// <summary>The length of the sliding window.</summary>
    public TimeSpan Window { get; }

    /// <summary>Whose calls the counter counts together.</summary>
    public CounterScope Scope { get; }

    /// <summary>
    /// Where each call's units come from: the argument path of the policy's <c>increment_from</c> (such as
    /// <c>args.amount</c>), or <see langword="null"/> when each call adds one. Part of the definition, so that a
    /// counter of calls and a spend cap of the same name never share a budget in a shared store.
    /// </summary>
    public string? IncrementFrom { get; init; }

    /// <summary>The counter's position in its policy; orders locks so that multi-counter reservations never deadlock.</summary>
    internal int Ordinal { get; init; }

    /// <summary>Whether two definitions describe the same budget (name, max, window, scope and increment source).</summary>
    /// <param name="other">The other definition.</param>
    public bool Equals(CounterDefinition? other) =>
        ReferenceEquals(this, other) || (other is not null && _hashCode == other._hashCode && Name == other.Name && Max == other.Max && Window == other.Window && Scope == other.Scope && IncrementFrom == other.IncrementFrom);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as CounterDefinition);

    /// <inheritdoc />
    public override int GetHashCode() => _hashCode;

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Max} per {Window}, per {Scope})";
}
