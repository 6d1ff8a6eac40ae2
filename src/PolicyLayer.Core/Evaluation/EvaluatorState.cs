using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using PolicyLayer.Policies;

namespace PolicyLayer.Evaluation;

/// <summary>What the policy says about one tool name, worked out once and cached.</summary>
internal sealed class ToolResolution
{
    public required string ToolName { get; init; }

    public required bool Hidden { get; init; }

    /// <summary>The revision of the policy this resolution belongs to, which every decision about the tool names.</summary>
    public required string Revision { get; init; }

    /// <summary>The <c>tools</c> rule (exact name or most specific glob), or null when none matches.</summary>
    public required CompiledRule? Rule { get; init; }

    public required ClassifyEntry? Classified { get; init; }

    /// <summary>The risk from the name alone, for calls that carry no descriptor.</summary>
    public required RiskProfile NameRisk { get; init; }

    /// <summary>Why the name itself is refused (longer than <see cref="EvaluatorState.MaxToolNameLength"/>); null for a usable name.</summary>
    public string? NameProblem { get; init; }

    // Refusal texts that depend only on the tool, made once so that repeated refusals allocate nothing.
    public string HiddenReason => field ??= NameProblem ?? $"Tool '{ToolName}' is hidden by the policy.";

    public string DefaultDenyReason => field ??= $"Tool '{ToolName}' is not allowed: no rule matches it and the policy's default is deny.";

    public string DefaultApprovalReason => field ??= $"Tool '{ToolName}' needs approval: no rule matches it and the policy's default is require_approval.";

    // The tool's last decision of each kind, reused while it says the same (see DecisionInfo.Reuse), so that
    // repeated decisions allocate nothing. Fields, because Reuse takes them by reference.
    internal DecisionInfo? AllowedInfo;
    internal DecisionInfo? RefusedInfo;
    internal DecisionInfo? HeldInfo;

    /// <summary>The refusal text of a deny rule without a reason of its own, made once per tool and rule.</summary>
    public string DeniedByRuleReason(CompiledRule rule)
    {
        // One immutable pair, so that a reader never sees one rule's text with another rule.
        var last = Volatile.Read(ref _deniedByRule);
        if (last is not null && ReferenceEquals(last.Rule, rule))
        {
            return last.Text;
        }

        last = new RuleText(rule, $"Tool '{ToolName}' is denied by the policy ({rule.Pointer}).");
        Volatile.Write(ref _deniedByRule, last);
        return last.Text;
    }

    private RuleText? _deniedByRule;

    private sealed record RuleText(CompiledRule Rule, string Text);
}

/// <summary>
/// What is in force: one policy with its caches, and the modes (shadow, counter-store failure). Immutable, and replaced
/// whole, atomically, on reload or a change of mode, so a call is decided under one snapshot from start to end, and never
/// under one policy with another's modes.
/// </summary>
internal sealed class EvaluatorState : IDisposable
{
    /// <summary>
    /// The longest tool name decided: MCP names are short (the specification suggests at most 128 characters); a
    /// longer name is refused without being classified, cached or echoed, so a client cannot make the evaluator
    /// keep or copy large strings.
    /// </summary>
    internal const int MaxToolNameLength = 256;

    /// <summary>
    /// The estimated bytes of resolutions remembered. Tool names come from clients, so the cache is bounded by what
    /// its entries hold, not by their number: about 7,000 names of 30 characters, 3,000 of the longest.
    /// </summary>
    internal const long ResolutionCacheBytes = 4 * 1024 * 1024;

    /// <summary>What one resolution is estimated to hold besides its name: the resolution, its risk profile and evidence, the cache entry.</summary>
    internal const int ResolutionOverheadBytes = 512;

    // A small direct-mapped cache of the hottest names in front of the bounded MemoryCache: a hit is a
    // string comparison, with no hashing of the whole name and no clock read. Entries are immutable, so
    // a reference write publishes them safely; a collision only costs a MemoryCache lookup.
    private const int HotSlots = 64;
    private readonly ToolResolution?[] _hot;
    private readonly MemoryCache _resolutions;
    private readonly ConditionalWeakTable<ToolDescriptor, RiskProfile> _descriptorRisk = new();
    private readonly ToolRiskClassifier _classifier;

    // Made once: a lambda here would capture this state and allocate a delegate on every call with a descriptor.
    private readonly ConditionalWeakTable<ToolDescriptor, RiskProfile>.CreateValueCallback _classify;

    public EvaluatorState(PolicyDocument document, ToolRiskClassifier classifier, TimeProvider time, bool shadowMode = false, CounterStoreFailureMode failureMode = CounterStoreFailureMode.FailClosed)
    {
        ShadowMode = shadowMode;
        FailureMode = failureMode;
        Document = document;
        Policy = document.Compiled;
        _hot = new ToolResolution?[HotSlots];
        _classifier = classifier;
        _classify = classifier.Classify;
        _resolutions = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = ResolutionCacheBytes,
            CompactionPercentage = 0.25,
            Clock = new TimeProviderClock(time),
        });
    }

    /// <summary>The same policy and caches under other modes: a change of mode keeps what the policy's caches learnt.</summary>
    private EvaluatorState(EvaluatorState state, bool shadowMode, CounterStoreFailureMode failureMode)
    {
        ShadowMode = shadowMode;
        FailureMode = failureMode;
        Document = state.Document;
        Policy = state.Policy;
        _hot = state._hot;
        _resolutions = state._resolutions;
        _descriptorRisk = state._descriptorRisk;
        _classifier = state._classifier;
        _classify = state._classify;
    }

    /// <summary>Whether decisions are shadowed: decided, counted and recorded, but nothing refused.</summary>
    public bool ShadowMode { get; }

    /// <summary>What a counter-store failure does to a call.</summary>
    public CounterStoreFailureMode FailureMode { get; }

    public PolicyDocument Document { get; }

    /// <summary>This policy under <paramref name="shadowMode"/> and <paramref name="failureMode"/>.</summary>
    public EvaluatorState WithModes(bool shadowMode, CounterStoreFailureMode failureMode) =>
        shadowMode == ShadowMode && failureMode == FailureMode ? this : new EvaluatorState(this, shadowMode, failureMode);

    public CompiledPolicy Policy { get; }

    public ToolResolution Resolve(string toolName)
    {
        var slot = HotSlot(toolName);
        var hot = Volatile.Read(ref _hot[slot]);
        if (hot is not null && string.Equals(hot.ToolName, toolName, StringComparison.Ordinal))
        {
            return hot;
        }

        if (toolName.Length > MaxToolNameLength)
        {
            return NameTooLong(toolName.Length);
        }

        if (!_resolutions.TryGetValue(toolName, out var cached))
        {
            cached = ResolveUncached(toolName);
            using var entry = _resolutions.CreateEntry(toolName);

            // The name is counted twice: the cache key and the resolution's texts that quote it.
            entry.Size = ResolutionOverheadBytes + (4L * toolName.Length);
            entry.Value = cached;
        }

        var resolution = (ToolResolution)cached!;
        Volatile.Write(ref _hot[slot], resolution);
        return resolution;
    }

    private static int HotSlot(string name) =>
        name.Length == 0 ? 0 : (name.Length * 31 + name[0] * 7 + name[^1] + name[name.Length / 2] * 3) & (HotSlots - 1);

    public RiskProfile GetRisk(ToolResolution resolution, ToolDescriptor? descriptor)
    {
        if (descriptor is null || resolution.Classified is not null || resolution.NameProblem is not null)
        {
            return resolution.NameRisk;
        }

        return _descriptorRisk.GetValue(descriptor, _classify);
    }

    /// <summary>The rule that applies to a call: the tool's own, else its risk category's, else null (the default).</summary>
    public CompiledRule? RuleFor(ToolResolution resolution, RiskProfile risk) =>
        resolution.Rule ?? Policy.RiskRules[(int)risk.Category];

    private ToolResolution ResolveUncached(string toolName)
    {
        var hidden = Policy.Hide.TryMatch(toolName, out _, out _);
        Policy.Tools.TryMatch(toolName, out var rule, out _);
        Policy.Classify.TryMatch(toolName, out var classified, out _);
        var nameRisk = classified is not null
            ? Classified(classified)
            : _classifier.Classify(new ToolDescriptor(toolName));
        return new ToolResolution { ToolName = toolName, Revision = Policy.Revision, Hidden = hidden, Rule = rule, Classified = classified, NameRisk = nameRisk };
    }

    /// <summary>A refused name: not matched, classified or cached, and never quoted (its length is).</summary>
    private ToolResolution NameTooLong(int length) => new()
    {
        ToolName = string.Empty,
        Revision = Policy.Revision,
        Hidden = true,
        Rule = null,
        Classified = null,
        NameRisk = UnclassifiedName,
        NameProblem = string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"Refused: the tool name is {length:N0} characters long; tool names of more than {MaxToolNameLength} characters are refused."),
    };

    private static readonly RiskProfile UnclassifiedName = new(
        RiskCategory.Destructive,
        RiskProfile.DefaultLevel(RiskCategory.Destructive),
        [$"the tool name is longer than {MaxToolNameLength} characters, so it was not classified; read as the riskiest category"]);

    private static RiskProfile Classified(ClassifyEntry entry) =>
        new(entry.Category, RiskProfile.DefaultLevel(entry.Category), [$"the policy's classify section says {entry.Category} ({entry.Pointer}); it overrides the classifier"]);

    public void Dispose() => _resolutions.Dispose();

    /// <summary>MemoryCache reads its clock for entry bookkeeping; give it the evaluator's TimeProvider.</summary>
    private sealed class TimeProviderClock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}
