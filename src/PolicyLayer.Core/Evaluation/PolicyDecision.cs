using System.Collections;

namespace PolicyLayer;

/// <summary>
/// The policy's answer for one tool call: allowed, denied or approval required, with the reason,
/// the rule that decided, the tool's risk and, for counted calls, each counter's budget.
/// </summary>
/// <remarks>
/// A value type so that deciding a call allocates nothing. A decision whose outcome is
/// <see cref="PolicyOutcome.Allow"/> may hold units in counters; call <see cref="ReleaseAsync"/>
/// once if the tool then fails, so that the failed call does not count.
/// </remarks>
public readonly struct PolicyDecision
{
    private readonly CounterBudget _first;
    private readonly CounterBudget[]? _all;
    private readonly int _counterCount;
    private readonly CounterStore? _store;

    internal PolicyDecision(
        PolicyOutcome outcome,
        string reason,
        string ruleId,
        RiskProfile? risk,
        TimeSpan? retryAfter = null,
        CounterStore? store = null,
        CounterBudget first = default,
        CounterBudget[]? all = null,
        int counterCount = 0,
        bool isShadowed = false,
        PolicyOutcome? shadowedOutcome = null)
    {
        Outcome = outcome;
        Reason = reason;
        RuleId = ruleId;
        Risk = risk;
        RetryAfter = retryAfter;
        _store = store;
        _first = first;
        _all = all;
        _counterCount = counterCount;
        IsShadowed = isShadowed;
        ShadowedOutcome = shadowedOutcome;
    }

    /// <summary>Allowed, denied, or approval required.</summary>
    public PolicyOutcome Outcome { get; }

    /// <summary>Whether the call may go ahead now.</summary>
    public bool IsAllowed => Outcome == PolicyOutcome.Allow;

    /// <summary>Text for the agent: why the call was refused or held, or which rule let it through.</summary>
    public string Reason { get; }

    /// <summary>
    /// The rule that decided, as a JSON Pointer into the policy (<c>/tools/create_refund/deny_if/0</c>),
    /// or <c>(default)</c>, <c>(hidden)</c>, <c>(error)</c>.
    /// </summary>
    public string RuleId { get; }

    /// <summary>For a rate-limited call, how long until it would be admitted.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The tool's risk category and level, with the evidence.</summary>
    public RiskProfile? Risk { get; }

    /// <summary>The budget of each counter the call counted against (or would have, when refused by a limit).</summary>
    public CounterBudgetList Counters => new(_first, _all, _counterCount);

    /// <summary>Whether the policy runs in shadow mode, so that <see cref="Outcome"/> is <see cref="PolicyOutcome.Allow"/> whatever it decided.</summary>
    public bool IsShadowed { get; }

    /// <summary>In shadow mode, the outcome the policy would have enforced; otherwise <see langword="null"/>.</summary>
    public PolicyOutcome? ShadowedOutcome { get; }

    /// <summary>Whether the call holds units in counters that <see cref="ReleaseAsync"/> would give back.</summary>
    public bool HoldsReservation => _store is not null && _counterCount > 0;

    /// <summary>
    /// Gives back the units this call reserved, for a call whose tool failed. Call it at most once;
    /// a decision that holds nothing returns at once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the release.</param>
    public ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (!HoldsReservation)
        {
            return default;
        }

        return _all is null
            ? _store!.ReleaseAsync(new[] { _first }, cancellationToken)
            : _store!.ReleaseAsync(_all.AsMemory(0, _counterCount), cancellationToken);
    }

    /// <summary>This decision as shadow mode reports it: allowed, with the outcome the policy would have enforced.</summary>
    internal PolicyDecision AsShadowed() =>
        new(PolicyOutcome.Allow, Reason, RuleId, Risk, RetryAfter, _store, _first, _all, _counterCount, isShadowed: true, shadowedOutcome: Outcome);

    /// <inheritdoc />
    public override string ToString() =>
        RetryAfter is { } retry
            ? $"{Outcome} by {RuleId}: {Reason} (retry after {retry.TotalMilliseconds:0} ms)"
            : $"{Outcome} by {RuleId}: {Reason}";
}

/// <summary>The budgets of the counters one call counted against.</summary>
public readonly struct CounterBudgetList : IReadOnlyList<CounterBudget>
{
    private readonly CounterBudget _first;
    private readonly CounterBudget[]? _all;

    internal CounterBudgetList(CounterBudget first, CounterBudget[]? all, int count)
    {
        _first = first;
        _all = all;
        Count = count;
    }

    /// <summary>The number of counters.</summary>
    public int Count { get; }

    /// <summary>The budget at <paramref name="index"/>.</summary>
    /// <param name="index">A position from zero to <see cref="Count"/> minus one.</param>
    public CounterBudget this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return _all is null ? _first : _all[index];
        }
    }

    /// <summary>Returns an enumerator over the budgets.</summary>
    public IEnumerator<CounterBudget> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
