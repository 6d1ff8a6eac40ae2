using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// An allowed call (exact-name rule, one limit of 30 a minute per grant, 1,000 active grants, one thread),
/// side by side with PartitionedRateLimiter over SlidingWindowRateLimiter doing the same per-grant limit.
/// </summary>
/// <remarks>
/// The evaluator runs on a fake clock advanced 2.1 ms per call, so each grant is called every 2.1 s: 28 live
/// units per window, every call allowed, windows sliding and old units pruned as in steady use. The rate
/// limiter runs on the real clock (it has no other), where 1,000 grants called back to back would exhaust 30
/// permits in microseconds; its permit limit is raised so that every lease is acquired too, as ours are.
/// <para>
/// The decisions are read as a caller that knows the store completes synchronously reads them (IsCompletedSuccessfully,
/// then Result), inline: PolicyDecision is a 64-byte struct, and a helper that takes the ValueTask by value and returns
/// the decision copies both, which measured 10-30 ns on its own.
/// </para>
/// </remarks>
[MemoryDiagnoser]
public class EvaluatorBenchmarks
{
    private const int Grants = 1_000;
    // Moved by hand: FakeTimeProvider.Advance takes a lock and walks timers, which would be measured too.
    private readonly CounterClock _time = new();
    private PolicyEvaluator _evaluator = null!;
    private ToolCall[] _calls = null!;
    private string[] _grantIds = null!;
    private PartitionedRateLimiter<string> _limiter = null!;
    private readonly CounterRequest[] _request = new CounterRequest[1];
    private readonly CounterBudget[] _budget = new CounterBudget[1];
    private InMemoryCounterStore _store = null!;
    private CounterDefinition _counter = null!;
    private PolicyLayer.Evaluation.EvaluatorState _state = null!;
    private int _nextStore;
    private int _nextDescribed;
    private ToolCall[] _describedCalls = null!;
    private PolicyEvaluator _unlimited = null!;
    private ToolCall _unlimitedCall = null!;
    private int _nextLease;
    private int _nextCall;

    [GlobalSetup]
    public void Setup()
    {
        var policy = PolicyDocument.Parse("""
            { "version": "1", "default": "deny",
              "tools": { "add_execution_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 30, "scope": "grant" } ] } } }
            """);
        _evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions { TimeProvider = _time });
        _grantIds = [.. Enumerable.Range(0, Grants).Select(i => $"grant-{i}")];
        _calls = [.. _grantIds.Select(g => new ToolCall("add_execution_labels", new CallerIdentity { GrantId = g }))];

        // As the middleware calls it: the tool's descriptor (one instance per tool) with every call, on separate grants.
        var descriptor = new ToolDescriptor("add_execution_labels", "Add labels to an execution.", new ToolAnnotations { ReadOnlyHint = false });
        _describedCalls = [.. _grantIds.Select(g => new ToolCall("add_execution_labels", new CallerIdentity { GrantId = g + "-described" }, tool: descriptor))];
        _limiter = PartitionedRateLimiter.Create<string, string>(grant => RateLimitPartition.GetSlidingWindowLimiter(grant, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = int.MaxValue,
            Window = TimeSpan.FromMinutes(1),
            SegmentsPerWindow = 30,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

        _unlimited = new PolicyEvaluator(PolicyDocument.Parse("""{ "version": "1", "tools": { "get_flow": {} } }"""), new PolicyEvaluatorOptions { TimeProvider = _time });
        _unlimitedCall = new ToolCall("get_flow", new CallerIdentity { GrantId = "g" });
        _store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = _time });
        _counter = policy.Counters[0];
        _state = new PolicyLayer.Evaluation.EvaluatorState(policy, ToolRiskClassifier.Default, _time);

        // Warm every grant's counter and partition, as 1,000 active grants would have.
        for (var i = 0; i < Grants * 29; i++)
        {
            Evaluate();
            PartitionedLimiter();
            StoreOnly();
            EvaluateWithDescriptor();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _evaluator.Dispose();
        _limiter.Dispose();
    }

    [Benchmark(Baseline = true, Description = "PartitionedRateLimiter<SlidingWindow>.AttemptAcquire")]
    public bool PartitionedLimiter()
    {
        using var lease = _limiter.AttemptAcquire(_grantIds[_nextLease++ % Grants]);
        return lease.IsAcquired;
    }

    // Diagnostic rows: the parts of an evaluation, to show where its time goes.
    [Benchmark(Description = "part: InMemoryCounterStore.TryReserveAsync (one counter)")]
    public bool StoreOnly()
    {
        _time.Now += TimeSpan.FromMicroseconds(2_100).Ticks;
        _request[0] = new CounterRequest(_counter, _grantIds[_nextStore++ % Grants], 1);
        return _store.TryReserveAsync(_request, _budget).Sync().IsAcquired;
    }

    [Benchmark(Description = "part: evaluation without a limit")]
    public bool EvaluateUnlimited()
    {
        var pending = _unlimited.EvaluateAsync(_unlimitedCall);
        return (pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult()).IsAllowed;
    }

    [Benchmark(Description = "part: tool-name resolution (cached)")]
    public object Resolve() => _state.Resolve("add_execution_labels");

    [Benchmark(Description = "PolicyEvaluator.EvaluateAsync (allowed, one limit, with the tool's descriptor)")]
    public bool EvaluateWithDescriptor()
    {
        _time.Now += TimeSpan.FromMicroseconds(2_100).Ticks;
        var pending = _evaluator.EvaluateAsync(_describedCalls[_nextDescribed++ % Grants]);
        var decision = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        return decision.IsAllowed ? true : throw new InvalidOperationException("The benchmark must measure allowed calls: " + decision);
    }

    [Benchmark(Description = "PolicyEvaluator.EvaluateAsync (allowed, one limit)")]
    public bool Evaluate()
    {
        _time.Now += TimeSpan.FromMicroseconds(2_100).Ticks;
        var pending = _evaluator.EvaluateAsync(_calls[_nextCall++ % Grants]);
        var decision = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        if (!decision.IsAllowed)
        {
            throw new InvalidOperationException("The benchmark must measure allowed calls: " + decision);
        }

        return decision.IsAllowed;
    }
}

/// <summary>A decision against a policy of 10,000 rules (half exact names, half globs), with no limits in the way.</summary>
[MemoryDiagnoser]
public class LargePolicyBenchmarks
{
    private PolicyEvaluator _evaluator = null!;
    private ToolCall _exact = null!;
    private ToolCall _glob = null!;
    private ToolCall _unmatched = null!;

    [GlobalSetup]
    public void Setup()
    {
        var policy = PolicyDocument.Parse(PolicyFixtures.Large(10_000, withLimits: false));
        _evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions { TimeProvider = new FakeTimeProvider() });
        var caller = new CallerIdentity { GrantId = "g" };
        var args = new Dictionary<string, System.Text.Json.JsonElement> { ["env"] = System.Text.Json.JsonDocument.Parse("\"dev\"").RootElement };
        _exact = new ToolCall("tool_04242", caller, args);
        _glob = new ToolCall("family_09999_labels", caller, args);
        _unmatched = new ToolCall("nothing_matches_this", caller, args);
        foreach (var call in new[] { _exact, _glob, _unmatched })
        {
            _ = Decide(call);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _evaluator.Dispose();

    [Benchmark(Description = "exact name, 10,000 rules")]
    public PolicyOutcome ExactName() => Decide(_exact);

    [Benchmark(Description = "least specific glob, 10,000 rules")]
    public PolicyOutcome Glob() => Decide(_glob);

    [Benchmark(Description = "no rule (default), 10,000 rules")]
    public PolicyOutcome Unmatched() => Decide(_unmatched);

    private PolicyOutcome Decide(ToolCall call) => _evaluator.EvaluateAsync(call).Sync().Outcome;
}

/// <summary>Loading a policy: parse, validate and compile.</summary>
[MemoryDiagnoser]
public class PolicyLoadBenchmarks
{
    private byte[] _policy1000 = null!;

    [GlobalSetup]
    public void Setup() => _policy1000 = System.Text.Encoding.UTF8.GetBytes(PolicyFixtures.Large(1_000));

    [Benchmark(Description = "Parse a 1,000-tool policy")]
    public PolicyDocument Load1000() => PolicyDocument.Parse(_policy1000);
}

