using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Testing;

/// <summary>
/// Runs tool calls against a policy on a fake clock with fresh in-memory counters, so that a unit test
/// reads like the rule it checks: call a tool N times as a grant, assert the outcome, move time, call again.
/// </summary>
/// <example>
/// <code>
/// using var harness = PolicyTestHarness.Load("policy.json");
/// var grant = harness.AsGrant("grant-1");
/// (await grant.CallAsync("add_execution_labels", times: 30)).Should().AllBeAllowed();
/// (await grant.CallAsync("add_execution_labels")).Should().BeRateLimited().WithRetryAfter(TimeSpan.FromSeconds(60));
/// harness.Advance(TimeSpan.FromMinutes(1));
/// (await grant.CallAsync("add_execution_labels")).Should().BeAllowed();
/// </code>
/// </example>
public sealed class PolicyTestHarness : IDisposable
{
    /// <summary>The instant the fake clock starts at unless <see cref="PolicyTestHarnessOptions.StartTime"/> says otherwise: 2026-01-05 09:00:00 UTC.</summary>
    public static readonly DateTimeOffset DefaultStartTime = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    private PolicyTestHarness(PolicyDocument policy, PolicyTestHarnessOptions? options)
    {
        options ??= new PolicyTestHarnessOptions();
        ArgumentNullException.ThrowIfNull(options.Classifier);
        Policy = policy;
        Time = new FakeTimeProvider(options.StartTime);
        Evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions
        {
            TimeProvider = Time,
            Classifier = options.Classifier,
            CounterStore = options.CounterStore,
        });
    }

    /// <summary>The policy under test.</summary>
    public PolicyDocument Policy { get; }

    /// <summary>The fake clock that every window and retry time is computed from. It moves only when told to.</summary>
    public FakeTimeProvider Time { get; }

    /// <summary>The evaluator the calls go through, for what the harness does not wrap.</summary>
    public PolicyEvaluator Evaluator { get; }

    /// <summary>The fake clock's current instant.</summary>
    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Loads the policy file at <paramref name="path"/>; throws <see cref="PolicyValidationException"/> with every error when it does not load.</summary>
    /// <param name="path">The policy file.</param>
    /// <param name="options">The harness's options; defaults when <see langword="null"/>.</param>
    public static PolicyTestHarness Load(string path, PolicyTestHarnessOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new PolicyTestHarness(PolicyDocument.Load(path), options);
    }

    /// <summary>Parses a policy from JSON text; throws <see cref="PolicyValidationException"/> with every error when it does not load.</summary>
    /// <param name="json">The policy document.</param>
    /// <param name="options">The harness's options; defaults when <see langword="null"/>.</param>
    public static PolicyTestHarness FromJson(string json, PolicyTestHarnessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new PolicyTestHarness(PolicyDocument.Parse(json), options);
    }

    /// <summary>Tests an already loaded policy.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="options">The harness's options; defaults when <see langword="null"/>.</param>
    public static PolicyTestHarness For(PolicyDocument policy, PolicyTestHarnessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new PolicyTestHarness(policy, options);
    }

    /// <summary>
    /// The caller every <c>As*</c> method starts from: grant <c>grant-1</c> in session <c>session-1</c>. Each method
    /// replaces one id and keeps the others, exactly as a case's <c>caller</c> does in a <c>policylayer test</c> cases
    /// file, so that a scenario decides the same in both. Remove an id with <c>WithGrant(null)</c> and friends.
    /// </summary>
    public static CallerIdentity DefaultCaller { get; } = new() { GrantId = "grant-1", SessionId = "session-1" };

    /// <summary>The default caller (grant <c>grant-1</c>, session <c>session-1</c>).</summary>
    public PolicyTestCaller AsDefaultCaller => As(DefaultCaller);

    /// <summary>The default caller with grant <paramref name="grantId"/> (the <c>grant</c> scope), in session <c>session-1</c>.</summary>
    /// <param name="grantId">The grant id.</param>
    public PolicyTestCaller AsGrant(string grantId) => AsDefaultCaller.WithGrant(grantId);

    /// <summary>The default caller in agent session <paramref name="sessionId"/> (the <c>session</c> scope), with grant <c>grant-1</c>.</summary>
    /// <param name="sessionId">The session id.</param>
    public PolicyTestCaller AsSession(string sessionId) => AsDefaultCaller.WithSession(sessionId);

    /// <summary>The default caller acting for person <paramref name="userId"/> (the <c>user</c> scope).</summary>
    /// <param name="userId">The user id.</param>
    public PolicyTestCaller AsUser(string userId) => AsDefaultCaller.WithUser(userId);

    /// <summary>The default caller from client application <paramref name="agentId"/> (the <c>agent</c> scope).</summary>
    /// <param name="agentId">The agent id.</param>
    public PolicyTestCaller AsAgent(string agentId) => AsDefaultCaller.WithAgent(agentId);

    /// <summary>A caller with no ids at all: only <c>global</c> limits can count its calls.</summary>
    public PolicyTestCaller Anonymous => As(CallerIdentity.Anonymous);

    /// <summary>A caller with exactly <paramref name="identity"/>.</summary>
    /// <param name="identity">Who calls.</param>
    public PolicyTestCaller As(CallerIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return new PolicyTestCaller(this, identity);
    }

    /// <summary>Moves the fake clock forward; windows slide and retry times shrink accordingly.</summary>
    /// <param name="by">How far; zero or more.</param>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Time.Advance(by);
    }

    /// <summary>The risk of <paramref name="tool"/> as the evaluator sees it: the policy's <c>classify</c> section, else the classifier.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    public RiskProfile Classify(ToolDescriptor tool) => Evaluator.Classify(tool);

    /// <summary>The risk of the tool named <paramref name="toolName"/>, from its name alone (and the policy's <c>classify</c> section).</summary>
    /// <param name="toolName">The tool's name.</param>
    public RiskProfile Classify(string toolName) => Evaluator.Classify(new ToolDescriptor(toolName));

    /// <summary>Whether tools/list shows <paramref name="toolName"/>: false when it is hidden or denied outright.</summary>
    /// <param name="toolName">The tool's name.</param>
    public bool IsListed(string toolName) => Evaluator.IsListed(new ToolDescriptor(toolName));

    /// <summary>Whether tools/list shows <paramref name="tool"/>: false when it is hidden or denied outright.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    public bool IsListed(ToolDescriptor tool) => Evaluator.IsListed(tool);

    /// <inheritdoc />
    public void Dispose() => Evaluator.Dispose();
}
