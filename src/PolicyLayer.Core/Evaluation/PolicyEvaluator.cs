using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PolicyLayer.Evaluation;
using PolicyLayer.Policies;

namespace PolicyLayer;

/// <summary>
/// Decides every tool call against a <see cref="PolicyDocument"/>: allowed, denied, or approval required,
/// with the rule that decided. Safe to use from many threads; one evaluator serves a whole server.
/// </summary>
/// <remarks>
/// Precedence: a <c>hide</c> match refuses; else the tool's exact rule; else its most specific glob rule;
/// else the rule of its risk category; else the document's <c>default</c>. A call that goes ahead reserves
/// its units in every counter its rule and <c>all_tools</c> name, all or none. Any failure inside evaluation
/// refuses the call (fail closed).
/// </remarks>
public sealed partial class PolicyEvaluator : IDisposable
{
    private readonly TimeProvider _time;
    private readonly CounterStore _store;
    private readonly InMemoryCounterStore? _ownedStore;

    // The store when it is the built-in in-memory one, for the synchronous one-counter path.
    private readonly InMemoryCounterStore? _memoryStore;
    private readonly ToolRiskClassifier _classifier;
    private readonly ILogger _logger;
    private volatile EvaluatorState _state;

    /// <summary>Creates an evaluator for <paramref name="policy"/>.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="options">The evaluator's options; defaults when <see langword="null"/>.</param>
    public PolicyEvaluator(PolicyDocument policy, PolicyEvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new PolicyEvaluatorOptions();
        _time = options.TimeProvider ?? throw new ArgumentException("TimeProvider must not be null.", nameof(options));
        _classifier = options.Classifier ?? throw new ArgumentException("Classifier must not be null.", nameof(options));
        if (!IsKnown(options.CounterStoreFailureMode))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.CounterStoreFailureMode, "Unknown CounterStoreFailureMode.");
        }

        _logger = options.LoggerFactory?.CreateLogger(Diagnostics.PolicyLayerLog.EvaluatorCategory) ?? NullLogger.Instance;
        _logArgumentValues = options.LogArgumentValues;
        _instruments = Diagnostics.PolicyLayerInstruments.For(options.MeterFactory);
        if (options.CounterStore is { } store)
        {
            _store = store;
        }
        else
        {
            var owned = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = _time });
            _store = owned;
            _ownedStore = owned;
        }

        _memoryStore = _store as InMemoryCounterStore;
        _state = new EvaluatorState(policy, _classifier, _time, options.ShadowMode, options.CounterStoreFailureMode);
    }

    /// <summary>The policy in force.</summary>
    public PolicyDocument Policy => _state.Document;

    /// <summary>The counter store the evaluator reserves in.</summary>
    public CounterStore CounterStore => _store;

    /// <summary>
    /// Whether decisions are shadowed: decided, counted and recorded as usual, but nothing refused. Starts as
    /// <see cref="PolicyEvaluatorOptions.ShadowMode"/>; a change applies to calls that start after it, so a
    /// rollout can switch enforcement on without a restart.
    /// </summary>
    public bool ShadowMode
    {
        get => _state.ShadowMode;
        set => Reconfigure(null, value, null);
    }

    /// <summary>Whether <paramref name="mode"/> is one of the modes (not <c>Enum.IsDefined</c>, whose first use reads the enum's metadata at run time).</summary>
    private static bool IsKnown(CounterStoreFailureMode mode) => mode is CounterStoreFailureMode.FailClosed or CounterStoreFailureMode.FailOpen;

    /// <summary>
    /// What a counter-store failure does to a call. Starts as <see cref="PolicyEvaluatorOptions.CounterStoreFailureMode"/>;
    /// a change applies to calls that start after it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="PolicyLayer.CounterStoreFailureMode"/>.</exception>
    public CounterStoreFailureMode CounterStoreFailureMode
    {
        get => _state.FailureMode;
        set
        {
            if (!IsKnown(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown CounterStoreFailureMode.");
            }

            Reconfigure(null, null, value);
        }
    }

    /// <summary>
    /// Puts <paramref name="policy"/> in force atomically. Calls already being evaluated finish under the
    /// old policy. Counters are kept by name: a counter whose definition did not change keeps its units.
    /// </summary>
    /// <param name="policy">The new policy.</param>
    public void UpdatePolicy(PolicyDocument policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Reconfigure(policy, null, null);
    }

    /// <summary>
    /// Raised after what tools/list shows may have changed: a new policy, or shadow mode switched. Hosts that tell
    /// clients of such changes (<c>notifications/tools/list_changed</c>) listen to it. Handlers must not throw.
    /// </summary>
    internal event Action? ListingMayHaveChanged;

    /// <summary>
    /// Puts a new snapshot in force, atomically: <paramref name="policy"/> (null keeps the policy and its caches) under
    /// the given modes (null keeps each). One swap, so no call is decided under the new policy with the old modes or the
    /// reverse; calls in flight finish under the snapshot they started with.
    /// </summary>
    internal void Reconfigure(PolicyDocument? policy, bool? shadowMode, CounterStoreFailureMode? failureMode)
    {
        EvaluatorState current, next;
        do
        {
            current = _state;
            var shadow = shadowMode ?? current.ShadowMode;
            var failure = failureMode ?? current.FailureMode;
            next = policy is null
                ? current.WithModes(shadow, failure)
                : new EvaluatorState(policy, _classifier, _time, shadow, failure);
            if (ReferenceEquals(next, current))
            {
                return;
            }
        }
        // The old state is not disposed: calls in flight may still use its caches; it is collected with them.
        while (Interlocked.CompareExchange(ref _state, next, current) != current);

        if (policy is not null || next.ShadowMode != current.ShadowMode)
        {
            ListingMayHaveChanged?.Invoke();
        }
    }

    /// <summary>Decides one call. Never throws for a failure inside evaluation: that refuses the call (fail closed).</summary>
    /// <param name="call">The call.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    /// <returns>The decision; when allowed, it may hold units in counters (see <see cref="PolicyDecision.ReleaseAsync"/>).</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask<PolicyDecision> EvaluateAsync(ToolCall call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var state = _state;
        try
        {
            if (IsObserved(state))
            {
                return DecideObserved(state, call, cancellationToken);
            }

            // With nothing to record and no shadow mode, the decision is written once, here, and returned as made:
            // no copies through the frames below, no clock reads.
            var decision = default(PolicyDecision);
            var pending = Decide(state, call, cancellationToken, ref decision);
            return pending is null ? new ValueTask<PolicyDecision>(decision) : new ValueTask<PolicyDecision>(pending);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return FailedAndFinished(call, ex, state, _time.GetTimestamp());
        }
    }

    /// <summary>Whether decisions must pass through <see cref="Finish"/>: shadow mode, or a log, metric or trace listening.</summary>
    private bool IsObserved(EvaluatorState state)
    {
        var observed = state.ShadowMode;
        IsObservedByTelemetry(ref observed);
        return observed;
    }

    /// <summary>Hook for telemetry to say that it listens (logger enabled, instrument enabled, activity listeners).</summary>
    partial void IsObservedByTelemetry(ref bool observed);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<PolicyDecision> DecideObserved(EvaluatorState state, ToolCall call, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var decision = default(PolicyDecision);
        var pending = Decide(state, call, cancellationToken, ref decision);
        return pending is null
            ? new ValueTask<PolicyDecision>(Finish(call, decision, state.ShadowMode, started))
            : new ValueTask<PolicyDecision>(AwaitDecision(pending, call, state, started));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ValueTask<PolicyDecision> FailedAndFinished(ToolCall call, Exception ex, EvaluatorState state, long started) =>
        new(Finish(call, Failed(ex, null, state.Policy.Revision), state.ShadowMode, started));

    /// <summary>Whether a tools/list response should show <paramref name="tool"/>: false for hidden tools and tools the policy denies outright.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    public bool IsListed(ToolDescriptor tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        var state = _state;
        var resolution = state.Resolve(tool.Name);
        if (resolution.Hidden)
        {
            return false;
        }

        var rule = state.RuleFor(resolution, state.GetRisk(resolution, tool));
        return rule is null ? state.Policy.DefaultAction != PolicyAction.Deny : !rule.DeniesOutright;
    }

    /// <summary>The risk of <paramref name="tool"/>: the policy's <c>classify</c> section, else the classifier. Cached per distinct tool.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    public RiskProfile Classify(ToolDescriptor tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        var state = _state;
        return state.GetRisk(state.Resolve(tool.Name), tool);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _state.Dispose();
        _ownedStore?.Dispose();
    }

    private async Task<PolicyDecision> AwaitDecision(Task<PolicyDecision> pending, ToolCall call, EvaluatorState state, long started)
    {
        PolicyDecision decision;
        try
        {
            decision = await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            decision = Failed(ex, null, state.Policy.Revision);
        }

        return Finish(call, decision, state.ShadowMode, started);
    }

    private PolicyDecision Finish(ToolCall call, PolicyDecision decision, bool shadowMode, long started)
    {
        if (shadowMode)
        {
            decision = decision.AsShadowed();
        }

        OnDecided(call, decision, _time.GetElapsedTime(started));
        return decision;
    }

    /// <summary>Hook for logging, metrics and traces of every decision.</summary>
    partial void OnDecided(ToolCall call, in PolicyDecision decision, TimeSpan elapsed);

    // The hot path writes its decision once, into the caller's variable (ref), and returns null; only a store
    // that completes asynchronously (Redis) makes it return a task. Decisions are not returned by value through
    // the frames, because every copy of one is a block copy the JIT cannot keep in registers. Refusals are built
    // in methods of their own, never inlined, so that their temporaries do not widen the hot frames.

    /// <summary>Decides into <paramref name="decision"/> and returns null, or returns the task that will decide.</summary>
    private Task<PolicyDecision>? Decide(EvaluatorState state, ToolCall call, CancellationToken cancellationToken, ref PolicyDecision decision)
    {
        var resolution = state.Resolve(call.ToolName);
        var risk = state.GetRisk(resolution, call.Tool);
        if (resolution.Hidden)
        {
            decision = Refused(resolution, resolution.HiddenReason, resolution.NameProblem is null ? RuleIds.Hidden : RuleIds.InvalidName, risk);
            return null;
        }

        var policy = state.Policy;
        var rule = state.RuleFor(resolution, risk);
        if (rule is null)
        {
            return DecideByDefault(call, policy, resolution, risk, cancellationToken, ref decision);
        }

        if (rule.Action == PolicyAction.Deny)
        {
            decision = RefusedByRule(resolution, rule, risk);
            return null;
        }

        foreach (var predicate in rule.Require)
        {
            var result = ConditionEvaluator.Evaluate(predicate, call);
            if (!result.IsTrue)
            {
                decision = RefusedByRequire(rule, predicate, result, risk, resolution.Revision);
                return null;
            }
        }

        foreach (var predicate in rule.DenyIf)
        {
            var result = ConditionEvaluator.Evaluate(predicate, call);
            if (!result.IsFalse)
            {
                decision = RefusedByDenyIf(rule, predicate, result, risk, resolution.Revision);
                return null;
            }
        }

        if (!call.IsApproved)
        {
            if (rule.Action == PolicyAction.RequireApproval)
            {
                return HeldByRule(call, policy, resolution, rule, risk, cancellationToken, ref decision);
            }

            foreach (var predicate in rule.RequireApprovalIf)
            {
                var result = ConditionEvaluator.Evaluate(predicate, call);
                if (!result.IsFalse)
                {
                    return HeldByPredicate(call, policy, resolution, rule, predicate, result, risk, cancellationToken, ref decision);
                }
            }
        }

        return Reserve(call, policy, resolution, rule, rule.Pointer, risk, reserve: true, cancellationToken, ref decision);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Task<PolicyDecision>? DecideByDefault(
        ToolCall call, CompiledPolicy policy, ToolResolution resolution, RiskProfile risk, CancellationToken cancellationToken, ref PolicyDecision decision)
    {
        switch (policy.DefaultAction)
        {
            case PolicyAction.Deny:
                decision = Refused(resolution, resolution.DefaultDenyReason, RuleIds.Default, risk);
                return null;
            case PolicyAction.RequireApproval when !call.IsApproved:
                return HoldForApproval(call, policy, resolution, null, resolution.DefaultApprovalReason, RuleIds.Default, risk, cancellationToken, ref decision);
            default:
                return Reserve(call, policy, resolution, null, RuleIds.Default, risk, reserve: true, cancellationToken, ref decision);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Task<PolicyDecision>? HeldByRule(
        ToolCall call, CompiledPolicy policy, ToolResolution resolution, CompiledRule rule, RiskProfile risk, CancellationToken cancellationToken, ref PolicyDecision decision) =>
        HoldForApproval(call, policy, resolution, rule, rule.Reason ?? $"Tool '{call.ToolName}' needs a person's approval ({rule.Pointer}).", rule.Pointer, risk, cancellationToken, ref decision);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Task<PolicyDecision>? HeldByPredicate(
        ToolCall call, CompiledPolicy policy, ToolResolution resolution, CompiledRule rule, Predicate predicate, PredicateResult result, RiskProfile risk,
        CancellationToken cancellationToken, ref PolicyDecision decision) =>
        HoldForApproval(
            call, policy, resolution, rule, PredicateTexts.ApprovalNeeded(rule, predicate, result), PredicateTexts.RuleId(predicate, result), risk, cancellationToken, ref decision);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyDecision RefusedByRule(ToolResolution resolution, CompiledRule rule, RiskProfile risk) =>
        Refused(resolution, rule.Reason ?? resolution.DeniedByRuleReason(rule), rule.Pointer, risk);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyDecision RefusedByRequire(CompiledRule rule, Predicate predicate, PredicateResult result, RiskProfile risk, string revision) =>
        Refused(PredicateTexts.RequireFailed(rule, predicate, result), PredicateTexts.RuleId(predicate, result), risk, revision, DecisionKind.Arguments);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyDecision RefusedByDenyIf(CompiledRule rule, Predicate predicate, PredicateResult result, RiskProfile risk, string revision) =>
        Refused(PredicateTexts.DenyIfMatched(rule, predicate, result), PredicateTexts.RuleId(predicate, result), risk, revision, result.IsTrue ? DecisionKind.Policy : DecisionKind.Arguments);

    private static PolicyDecision Refused(string reason, string ruleId, RiskProfile risk, string revision, DecisionKind kind = DecisionKind.Policy) =>
        new(new DecisionInfo(PolicyOutcome.Deny, reason, ruleId, risk) { Kind = kind, PolicyRevision = revision });

    /// <summary>A refusal whose texts are the tool's or the rule's own: repeated, it reuses the tool's last refusal and allocates nothing.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyDecision Refused(ToolResolution resolution, string reason, string ruleId, RiskProfile risk) =>
        new(DecisionInfo.Reuse(ref resolution.RefusedInfo, PolicyOutcome.Deny, reason, ruleId, risk, resolution.Revision));

    /// <summary>Approval is asked only when the limits would let the call through now: a person is not asked for a call that would be refused anyway.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Task<PolicyDecision>? HoldForApproval(
        ToolCall call, CompiledPolicy policy, ToolResolution resolution, CompiledRule? rule, string reason, string ruleId, RiskProfile risk,
        CancellationToken cancellationToken, ref PolicyDecision decision)
    {
        var pending = Reserve(call, policy, resolution, rule, ruleId, risk, reserve: false, cancellationToken, ref decision);
        if (pending is null)
        {
            decision = ToApproval(decision, resolution, reason, ruleId, risk);
            return null;
        }

        return AwaitApproval(pending, resolution, reason, ruleId, risk);
    }

    private static async Task<PolicyDecision> AwaitApproval(Task<PolicyDecision> peek, ToolResolution resolution, string reason, string ruleId, RiskProfile risk) =>
        ToApproval(await peek.ConfigureAwait(false), resolution, reason, ruleId, risk);

    private static PolicyDecision ToApproval(PolicyDecision peeked, ToolResolution resolution, string reason, string ruleId, RiskProfile risk) =>
        peeked.Outcome == PolicyOutcome.Deny
            ? peeked
            : new PolicyDecision(DecisionInfo.Reuse(ref resolution.HeldInfo, PolicyOutcome.RequireApproval, reason, ruleId, risk, resolution.Revision));

    /// <summary>Counts the call in its rule's limits and all_tools', or only reads them when <paramref name="reserve"/> is false.</summary>
    private Task<PolicyDecision>? Reserve(
        ToolCall call, CompiledPolicy policy, ToolResolution resolution, CompiledRule? rule, string ruleId, RiskProfile risk, bool reserve,
        CancellationToken cancellationToken, ref PolicyDecision decision)
    {
        var ruleLimits = rule?.Limits ?? [];
        if (ruleLimits.Length + policy.AllToolsLimits.Length == 0)
        {
            decision = new PolicyDecision(DecisionInfo.Reuse(ref resolution.AllowedInfo, PolicyOutcome.Allow, rule?.AllowedReason ?? DefaultAllowedReason, ruleId, risk, resolution.Revision));
            return null;
        }

        return ReserveCounters(call, policy, resolution, rule, ruleLimits, ruleId, risk, reserve, cancellationToken, ref decision);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Task<PolicyDecision>? ReserveCounters(
        ToolCall call, CompiledPolicy policy, ToolResolution resolution, CompiledRule? rule, CompiledLimit[] ruleLimits, string ruleId, RiskProfile risk, bool reserve,
        CancellationToken cancellationToken, ref PolicyDecision decision)
    {
        var allLimits = policy.AllToolsLimits;
        var total = ruleLimits.Length + allLimits.Length;
        if (total == 1 && reserve && _memoryStore is { } memory)
        {
            return ReserveOneInMemory(memory, call, resolution, rule, ruleLimits.Length == 1 ? ruleLimits[0] : allLimits[0], ruleId, risk, cancellationToken, ref decision);
        }

        var scratch = Scratch.Take(total);
        var requests = scratch.Requests;
        var limitOf = scratch.Limits;
        var count = 0;
        for (var i = 0; i < total; i++)
        {
            var limit = i < ruleLimits.Length ? ruleLimits[i] : allLimits[i - ruleLimits.Length];
            if (!TryCreateRequest(call, limit, out var request))
            {
                scratch.Return(count);
                decision = RefusedForRequest(call, limit, risk, resolution.Revision);
                return null;
            }

            // A counter named by both the rule and all_tools counts once per call, with the larger amount.
            var existing = IndexOf(requests, count, request.Counter);
            if (existing >= 0)
            {
                if (request.Amount > requests[existing].Amount)
                {
                    requests[existing] = request;
                    limitOf[existing] = limit;
                }

                continue;
            }

            requests[count] = request;
            limitOf[count] = limit;
            count++;
        }

        var work = new ReservationWork(scratch, count, resolution, ruleId, rule?.AllowedReason ?? DefaultAllowedReason, risk, reserve);
        ValueTask<CounterReservationResult> pending;
        try
        {
            pending = reserve
                ? _store.TryReserveAsync(requests.AsMemory(0, count), scratch.Budgets.AsMemory(0, count), cancellationToken)
                : Peek(requests.AsMemory(0, count), scratch.Budgets.AsMemory(0, count), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            decision = StoreFailed(ex, work.RuleId, work.Risk, resolution.Revision);
            work.Return();
            return null;
        }

        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitReservation(pending, work);
        }

        var result = pending.Result;
        if (result.IsAcquired)
        {
            Acquired(work, ref decision);
        }
        else
        {
            decision = Blocked(work, result);
        }

        work.Return();
        return null;
    }

    /// <summary>
    /// The common case, one counter in the built-in in-memory store: reserved directly, synchronously, without
    /// the pooled buffers and the ValueTask of the general path. Same semantics as <see cref="CounterStore.TryReserveAsync"/>.
    /// </summary>
    private Task<PolicyDecision>? ReserveOneInMemory(
        InMemoryCounterStore memory, ToolCall call, ToolResolution resolution, CompiledRule? rule, CompiledLimit limit, string ruleId, RiskProfile risk,
        CancellationToken cancellationToken, ref PolicyDecision decision)
    {
        if (!TryCreateRequest(call, limit, out var request))
        {
            decision = RefusedForRequest(call, limit, risk, resolution.Revision);
            return null;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // As the store's TryReserveAsync answers: a cancelled task, not an exception thrown here.
            return Task.FromCanceled<PolicyDecision>(cancellationToken);
        }

        CounterBudget budget = default;
        CounterReservationResult result;
        try
        {
            result = memory.ReserveOne(in request, ref budget);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            decision = StoreFailed(ex, ruleId, risk, resolution.Revision);
            return null;
        }

        if (result.IsAcquired)
        {
            var info = DecisionInfo.Reuse(ref resolution.AllowedInfo, PolicyOutcome.Allow, rule?.AllowedReason ?? DefaultAllowedReason, ruleId, risk, resolution.Revision, _store);
            decision = new PolicyDecision(info, budget);
        }
        else
        {
            decision = Blocked(request, limit, risk, result, budget, null, resolution.Revision);
        }

        return null;
    }

    /// <summary>The request this call makes of a limit's counter: its scope key and amount; false when it cannot be counted.</summary>
    private static bool TryCreateRequest(ToolCall call, CompiledLimit limit, out CounterRequest request)
    {
        var counter = limit.Counter;
        var scopeKey = call.Caller.GetScopeKey(counter.Scope);
        long amount = 1;
        if (scopeKey is null || (limit.IncrementFrom is { } amountPath && !TryGetAmount(call, amountPath, out amount)))
        {
            request = default;
            return false;
        }

        request = new CounterRequest(counter, scopeKey, amount);
        return true;
    }

    /// <summary>Why <see cref="TryCreateRequest"/> failed: the caller has no id of the limit's scope, or the amount is unusable.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyDecision RefusedForRequest(ToolCall call, CompiledLimit limit, RiskProfile risk, string revision) =>
        call.Caller.GetScopeKey(limit.Counter.Scope) is null ? RefusedForMissingScope(limit, risk, revision) : RefusedForAmount(call, limit, risk, revision);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyDecision RefusedForMissingScope(CompiledLimit limit, RiskProfile risk, string revision)
    {
        var scope = limit.Counter.Scope.Name();
        return Refused(
            $"Refused: limit {limit.Pointer} counts per {scope}, and the caller has no {scope} id. Calls are never counted in a bucket shared with strangers.",
            limit.Pointer,
            risk,
            revision);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyDecision RefusedForAmount(ToolCall call, CompiledLimit limit, RiskProfile risk, string revision)
    {
        var path = limit.IncrementFrom!;
        _ = TryGetAmount(call, path, out _, out var problem);
        return Refused($"Refused: {limit.Pointer} counts {path.Text}, which {problem}.", limit.Pointer, risk, revision, DecisionKind.Arguments);
    }

    private async ValueTask<CounterReservationResult> Peek(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken)
    {
        await _store.GetBudgetsAsync(requests, budgets, cancellationToken).ConfigureAwait(false);
        var span = budgets.Span;
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i].RetryAfter > TimeSpan.Zero)
            {
                return CounterReservationResult.Blocked(i, span[i].RetryAfter);
            }
        }

        return CounterReservationResult.Acquired;
    }

    private async Task<PolicyDecision> AwaitReservation(ValueTask<CounterReservationResult> pending, ReservationWork work)
    {
        try
        {
            var result = await pending.ConfigureAwait(false);
            var decision = default(PolicyDecision);
            if (result.IsAcquired)
            {
                Acquired(work, ref decision);
            }
            else
            {
                decision = Blocked(work, result);
            }

            return decision;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return StoreFailed(ex, work.RuleId, work.Risk, work.Resolution.Revision);
        }
        finally
        {
            work.Return();
        }
    }

    private void Acquired(in ReservationWork work, ref PolicyDecision decision)
    {
        if (!work.Reserve)
        {
            // A peek before asking for approval: only "not refused" matters (HoldForApproval makes the held decision),
            // so the tool's allowed info is not replaced by a store-less one that the next allowed call would replace back.
            decision = new PolicyDecision(PeekedInfo);
            return;
        }

        var count = work.Count;
        var budgets = work.Budgets;
        var info = DecisionInfo.Reuse(ref work.Resolution.AllowedInfo, PolicyOutcome.Allow, work.AllowedReason, work.RuleId, work.Risk, work.Resolution.Revision, _store);
        decision = count > 1
            ? new PolicyDecision(info, new CounterLease(_store, budgets[0], budgets.AsSpan(0, count).ToArray()))
            : new PolicyDecision(info, budgets[0]);
    }

    private static readonly DecisionInfo PeekedInfo = new(PolicyOutcome.Allow, "The limits would admit the call now.", RuleIds.Default, null);

    private static PolicyDecision Blocked(ReservationWork work, CounterReservationResult result) =>
        Blocked(
            work.Requests[result.BlockedIndex],
            work.Limits[result.BlockedIndex],
            work.Risk,
            result,
            work.Budgets[0],
            work.Count > 1 ? work.Budgets.AsSpan(0, work.Count).ToArray() : null,
            work.Resolution.Revision);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyDecision Blocked(
        CounterRequest blocked, CompiledLimit limit, RiskProfile risk, CounterReservationResult result, CounterBudget first, CounterBudget[]? all, string revision)
    {
        var counter = blocked.Counter;
        var tooLarge = blocked.Amount > counter.Max;
        var reason = tooLarge
            ? $"Refused: this call needs {blocked.Amount} units of counter '{counter.Name}', more than its whole budget of {counter.Max} per {PolicyReaderV1.Format(counter.Window)}."
            : $"Rate limit reached: counter '{counter.Name}' allows {counter.Max} per {PolicyReaderV1.Format(counter.Window)} per {counter.Scope.Name()}; retry after {FormatRetry(result.RetryAfter)}.";
        var info = new DecisionInfo(PolicyOutcome.Deny, reason, limit.Pointer, risk, retryAfter: tooLarge ? null : result.RetryAfter)
        {
            Kind = DecisionKind.Limit,
            BlockedLimit = limit,
            BlockedAmount = blocked.Amount,
            PolicyRevision = revision,
        };
        return all is null ? new PolicyDecision(info, first) : new PolicyDecision(info, new CounterLease(null, first, all));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PolicyDecision StoreFailed(Exception ex, string ruleId, RiskProfile risk, string revision)
    {
        if (ex is CounterStoreFullException)
        {
            // Never fail-open: the store is not down, it is full, and letting calls through uncounted is what a client
            // filling it with scopes would want.
            RecordCounterStoreError(ex, CounterStoreFailureMode.FailClosed);
            return Refused($"Refused: {ex.Message}", ruleId, risk, revision, DecisionKind.Limit);
        }

        RecordCounterStoreError(ex);
        // Read when the store fails, rare enough that the call need not carry its snapshot down the reservation path.
        if (_state.FailureMode == CounterStoreFailureMode.FailOpen)
        {
            LogFailOpen(_logger, ex, ruleId);
            return new PolicyDecision(
                PolicyOutcome.Allow,
                $"Allowed uncounted: the counter store failed ({ex.GetType().Name}) and the host chose fail-open.",
                ruleId,
                risk,
                policyRevision: revision);
        }

        return Failed(ex, risk, revision, "The counter store failed");
    }

    private PolicyDecision Failed(Exception ex, RiskProfile? risk, string revision, string what = "Policy evaluation failed")
    {
        LogEvaluationFailed(_logger, ex, what);
        return new PolicyDecision(
            new DecisionInfo(PolicyOutcome.Deny, $"{what} ({ex.GetType().Name}: {ex.Message}); the call is refused.", RuleIds.Error, risk)
            {
                Kind = DecisionKind.Failure,
                PolicyRevision = revision,
            });
    }

    private static bool TryGetAmount(ToolCall call, ArgumentPath path, out long amount) => TryGetAmount(call, path, out amount, out _);

    private static bool TryGetAmount(ToolCall call, ArgumentPath path, out long amount, out string? problem)
    {
        amount = 0;
        if (!path.TryResolve(call.Arguments, out var value))
        {
            problem = "is missing";
            return false;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || double.IsNaN(number) || double.IsInfinity(number))
        {
            problem = "is not a number";
            return false;
        }

        if (number < 0)
        {
            problem = "is negative";
            return false;
        }

        if (number > PolicyLimits.MaxUnits)
        {
            problem = "is too large to count";
            return false;
        }

        // A fractional amount counts as the next whole unit: a cap is never exceeded by rounding.
        amount = value.TryGetInt64(out var whole) ? whole : (long)Math.Ceiling(number);
        problem = null;
        return true;
    }

    private static int IndexOf(CounterRequest[] requests, int count, CounterDefinition counter)
    {
        for (var i = 0; i < count; i++)
        {
            if (ReferenceEquals(requests[i].Counter, counter))
            {
                return i;
            }
        }

        return -1;
    }


    private const string DefaultAllowedReason = "Allowed by the policy's default.";


    private static string FormatRetry(TimeSpan retry) =>
        retry.TotalSeconds >= 1
            ? retry.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s"
            : retry.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms";

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{What}; the call is refused (fail closed).")]
    private static partial void LogEvaluationFailed(ILogger logger, Exception exception, string what);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "The counter store failed; a call under {RuleId} goes ahead uncounted because the host chose fail-open.")]
    private static partial void LogFailOpen(ILogger logger, Exception exception, string ruleId);

    /// <summary>The pooled buffers and context of one reservation, returned once it completes. A struct: the synchronous path allocates nothing.</summary>
    private readonly struct ReservationWork(
        Scratch scratch, int count, ToolResolution resolution, string ruleId, string allowedReason, RiskProfile risk, bool reserve)
    {
        public ToolResolution Resolution { get; } = resolution;

        public CounterRequest[] Requests => scratch.Requests;

        public CompiledLimit[] Limits => scratch.Limits;

        public CounterBudget[] Budgets => scratch.Budgets;

        public int Count { get; } = count;

        public string RuleId { get; } = ruleId;

        public string AllowedReason { get; } = allowedReason;

        public RiskProfile Risk { get; } = risk;

        public bool Reserve { get; } = reserve;

        public void Return() => scratch.Return(Count);
    }

    /// <summary>
    /// The buffers of one reservation, kept per thread. Taken out of the thread's slot while in use, so a
    /// store that completes asynchronously holds its own; returned to the slot of whichever thread finishes.
    /// </summary>
    private sealed class Scratch
    {
        [ThreadStatic]
        private static Scratch? t_current;

        private Scratch(int capacity)
        {
            Requests = new CounterRequest[capacity];
            Limits = new CompiledLimit[capacity];
            Budgets = new CounterBudget[capacity];
        }

        public CounterRequest[] Requests { get; }

        public CompiledLimit[] Limits { get; }

        public CounterBudget[] Budgets { get; }

        public static Scratch Take(int capacity)
        {
            var scratch = t_current;
            if (scratch is not null && scratch.Requests.Length >= capacity)
            {
                t_current = null;
                return scratch;
            }

            return new Scratch(Math.Max(capacity, 4));
        }

        public void Return(int count)
        {
            // Clear what was used, so that no caller's strings or counters stay reachable from the slot.
            Requests.AsSpan(0, count).Clear();
            Limits.AsSpan(0, count).Clear();
            Budgets.AsSpan(0, count).Clear();
            t_current = this;
        }
    }
}

/// <summary>The rule ids that are not JSON Pointers.</summary>
public static class RuleIds
{
    /// <summary>No rule matched; the document's <c>default</c> decided.</summary>
    public const string Default = "(default)";

    /// <summary>The tool is hidden by the document's <c>hide</c> list.</summary>
    public const string Hidden = "(hidden)";

    /// <summary>Evaluation failed (or the counter store did) and the call was refused.</summary>
    public const string Error = "(error)";

    /// <summary>The tool name itself is refused (longer than any MCP tool name), before any rule is looked at.</summary>
    public const string InvalidName = "(invalid-name)";
}
