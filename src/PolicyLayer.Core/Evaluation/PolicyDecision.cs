using System.Collections;

namespace PolicyLayer;

/// <summary>
/// The policy's answer for one tool call: allowed, denied or approval required, with the reason,
/// the rule that decided, the tool's risk and, for counted calls, each counter's budget.
/// </summary>
/// <remarks>
/// A value type so that deciding a call allocates nothing. A decision whose outcome is
/// <see cref="PolicyOutcome.Allow"/> may hold units in counters, in its <see cref="Lease"/>; give them back
/// (<see cref="ReleaseAsync"/>) if the tool then fails, so that the failed call does not count.
/// </remarks>
public readonly struct PolicyDecision
{
    // What is the same for many calls (outcome, reason, rule, risk, the store) lives in one immutable DecisionInfo that
    // allowed and repeated decisions share. The counters are per call: a call that counted against one counter (the
    // common case) carries that counter's budget here, by value, so that deciding it allocates nothing, and its lease is
    // made only when someone asks for it; a call of two or more counters carries a lease, made with their array.
    // Giving units back is one-shot in the store itself (CounterStore.ReleaseAsync), so every copy of a decision and
    // every lease made from it may release: the units are freed once.
    private readonly DecisionInfo? _info;
    private readonly CounterLease? _lease;
    private readonly CounterBudget _counter;

    /// <param name="info">What the decision says.</param>
    /// <param name="lease">The counters the call counted against (acquired or not), or null when none.</param>
    internal PolicyDecision(DecisionInfo info, CounterLease? lease = null)
    {
        _info = info;
        _lease = lease;
    }

    /// <param name="info">What the decision says; its <see cref="DecisionInfo.Store"/> holds the units when the call reserved them.</param>
    /// <param name="counter">The budget of the one counter the call counted against (reserved, or the one that refused it).</param>
    internal PolicyDecision(DecisionInfo info, in CounterBudget counter)
    {
        _info = info;
        _counter = counter;
    }

    private PolicyDecision(DecisionInfo info, CounterLease? lease, in CounterBudget counter)
    {
        _info = info;
        _lease = lease;
        _counter = counter;
    }

    internal PolicyDecision(PolicyOutcome outcome, string reason, string ruleId, RiskProfile? risk, TimeSpan? retryAfter = null, string? policyRevision = null)
        : this(new DecisionInfo(outcome, reason, ruleId, risk, retryAfter) { PolicyRevision = policyRevision })
    {
    }

    /// <summary>Allowed, denied, or approval required.</summary>
    public PolicyOutcome Outcome => _info?.Outcome ?? default;

    /// <summary>Whether the call may go ahead now.</summary>
    public bool IsAllowed => Outcome == PolicyOutcome.Allow;

    /// <summary>Text for the agent: why the call was refused or held, or which rule let it through.</summary>
    public string Reason => _info?.Reason!;

    /// <summary>
    /// The rule that decided, as a JSON Pointer into the policy (<c>/tools/create_refund/deny_if/0</c>),
    /// or <c>(default)</c>, <c>(hidden)</c>, <c>(error)</c>.
    /// </summary>
    public string RuleId => _info?.RuleId!;

    /// <summary>
    /// The revision of the policy that decided (<see cref="PolicyDocument.Revision"/>), so that a decision can always be
    /// traced to the document that made it; <see langword="null"/> only for a default (never decided) value.
    /// </summary>
    public string? PolicyRevision => _info?.PolicyRevision;

    /// <summary>For a rate-limited call, how long until it would be admitted.</summary>
    public TimeSpan? RetryAfter => _info?.RetryAfter;

    /// <summary>The tool's risk category and level, with the evidence.</summary>
    public RiskProfile? Risk => _info?.Risk;

    /// <summary>The budget of each counter the call counted against (or would have, when refused by a limit).</summary>
    public CounterBudgetList Counters =>
        _lease is { } lease ? lease.Counters : _counter.Counter is null ? default : new CounterBudgetList(_counter, null, 1);

    /// <summary>
    /// The counters of a counted call: acquired (<see cref="CounterLease.IsAcquired"/>) when the call was allowed and holds
    /// units, not acquired when a limit refused it; <see langword="null"/> when the call counted against no counter.
    /// </summary>
    /// <remarks>
    /// For a call of one counter the lease is made when this property is read (so that deciding allocates nothing), a new
    /// one at each read; releasing through any of them, or through <see cref="ReleaseAsync"/>, frees the units once,
    /// because the store's release is one-shot. <see cref="CounterLease.IsReleased"/> tells about its own lease only.
    /// </remarks>
    public CounterLease? Lease => _lease ?? (_counter.Counter is null ? null : new CounterLease(_info?.Store, _counter, null));

    /// <summary>Whether the policy runs in shadow mode, so that <see cref="Outcome"/> is <see cref="PolicyOutcome.Allow"/> whatever it decided.</summary>
    public bool IsShadowed => _info?.ShadowedOutcome is not null;

    /// <summary>In shadow mode, the outcome the policy would have enforced; otherwise <see langword="null"/>.</summary>
    public PolicyOutcome? ShadowedOutcome => _info?.ShadowedOutcome;

    /// <summary>
    /// Whether the call reserved units in counters (it was allowed and counted): the units <see cref="ReleaseAsync"/> gives
    /// back, the first time it is called on any copy of the decision.
    /// </summary>
    public bool HoldsReservation => _lease?.IsAcquired ?? (_counter.Counter is not null && _info?.Store is not null);

    /// <summary>What the gate tells the agent about a refusal: which kind of rule refused (see <see cref="DecisionKind"/>).</summary>
    internal DecisionKind Kind => _info?.Kind ?? DecisionKind.Policy;

    /// <summary>The limit that refused the call, for a refusal by a limit; else null.</summary>
    internal Policies.CompiledLimit? BlockedLimit => _info?.BlockedLimit;

    /// <summary>The units the refused call asked of <see cref="BlockedLimit"/>.</summary>
    internal long BlockedAmount => _info?.BlockedAmount ?? 0;

    /// <summary>
    /// Gives back the units this call reserved, for a call whose tool failed: <see cref="CounterLease.ReleaseAsync"/> of
    /// <see cref="Lease"/>. Idempotent: only the first call gives anything back.
    /// </summary>
    /// <param name="cancellationToken">Cancels the release.</param>
    public ValueTask ReleaseAsync(CancellationToken cancellationToken = default) =>
        Lease is { } lease ? lease.ReleaseAsync(cancellationToken) : default;

    /// <summary>This decision as shadow mode reports it: allowed, with the outcome the policy would have enforced.</summary>
    internal PolicyDecision AsShadowed() => _info is null ? this : new(_info.Shadowed, _lease, _counter);

    /// <inheritdoc />
    public override string ToString() =>
        RetryAfter is { } retry
            ? $"{Outcome} by {RuleId}: {Reason} (retry after {retry.TotalMilliseconds:0} ms)"
            : $"{Outcome} by {RuleId}: {Reason}";
}

/// <summary>
/// The parts of a <see cref="PolicyDecision"/> that many calls share: immutable, so that one instance
/// serves every allowed call of a tool under one rule (see <see cref="Reuse"/>).
/// </summary>
internal sealed class DecisionInfo(
    PolicyOutcome outcome, string reason, string ruleId, RiskProfile? risk, TimeSpan? retryAfter = null, CounterStore? store = null, PolicyOutcome? shadowedOutcome = null)
{
    public PolicyOutcome Outcome { get; } = outcome;

    public string Reason { get; } = reason;

    public string RuleId { get; } = ruleId;

    public RiskProfile? Risk { get; } = risk;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>The store that holds the call's units, for an allowed call that reserved; else null.</summary>
    public CounterStore? Store { get; } = store;

    /// <summary>Set in shadow mode: the outcome the policy would have enforced.</summary>
    public PolicyOutcome? ShadowedOutcome { get; } = shadowedOutcome;

    /// <summary>The revision of the policy that decided; shared by every decision of the policy, so it costs no call anything.</summary>
    public string? PolicyRevision { get; init; }

    /// <summary>What kind of rule decided, for the text the agent reads.</summary>
    public DecisionKind Kind { get; init; }

    /// <summary>For a refusal by a limit: the limit.</summary>
    public Policies.CompiledLimit? BlockedLimit { get; init; }

    /// <summary>For a refusal by a limit: the units the call asked for.</summary>
    public long BlockedAmount { get; init; }

    /// <summary>This decision as shadow mode reports it (made once per instance).</summary>
    public DecisionInfo Shadowed =>
        ShadowedOutcome is not null
            ? this
            : field ??= new(PolicyOutcome.Allow, Reason, RuleId, Risk, RetryAfter, Store, Outcome)
            {
                Kind = Kind, BlockedLimit = BlockedLimit, BlockedAmount = BlockedAmount, PolicyRevision = PolicyRevision,
            };

    /// <summary>
    /// The info in <paramref name="slot"/> when it says exactly this (same strings and objects by reference),
    /// else a new one, left in the slot for the next call. Races only cost an allocation: instances are immutable.
    /// </summary>
    public static DecisionInfo Reuse(
        ref DecisionInfo? slot, PolicyOutcome outcome, string reason, string ruleId, RiskProfile? risk, string policyRevision, CounterStore? store = null)
    {
        var info = Volatile.Read(ref slot);
        if (info is not null && info.Outcome == outcome && ReferenceEquals(info.Reason, reason) && ReferenceEquals(info.RuleId, ruleId)
            && ReferenceEquals(info.Risk, risk) && ReferenceEquals(info.Store, store) && ReferenceEquals(info.PolicyRevision, policyRevision))
        {
            return info;
        }

        info = new DecisionInfo(outcome, reason, ruleId, risk, store: store) { PolicyRevision = policyRevision };
        Volatile.Write(ref slot, info);
        return info;
    }
}

/// <summary>What kind of rule made a decision: what the agent is told it can do about a refusal.</summary>
internal enum DecisionKind
{
    /// <summary>A rule of the policy (or its default): allowed, denied or held as written.</summary>
    Policy = 0,

    /// <summary>A <c>require</c> failed, or a condition or amount found its argument missing or of the wrong type: the agent can fix the arguments.</summary>
    Arguments,

    /// <summary>A limit had no room for the call.</summary>
    Limit,

    /// <summary>Evaluation, or the counter store, failed.</summary>
    Failure,
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
