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

    // Refusal texts that depend only on the tool, made once so that repeated refusals allocate nothing.
    public string HiddenReason => field ??= $"Tool '{ToolName}' is hidden by the policy.";

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
/// One policy in force with its caches. Replaced whole on reload, so calls in flight finish under
/// the state they started with.
/// </summary>
internal sealed class EvaluatorState : IDisposable
{
    /// <summary>How many distinct tool names are remembered; tool names come from clients, so the cache is bounded.</summary>
    internal const int ResolutionCacheSize = 10_000;

    // A small direct-mapped cache of the hottest names in front of the bounded MemoryCache: a hit is a
    // string comparison, with no hashing of the whole name and no clock read. Entries are immutable, so
    // a reference write publishes them safely; a collision only costs a MemoryCache lookup.
    private const int HotSlots = 64;
    private readonly ToolResolution?[] _hot = new ToolResolution?[HotSlots];
    private readonly MemoryCache _resolutions;
    private readonly ConditionalWeakTable<ToolDescriptor, RiskProfile> _descriptorRisk = new();
    private readonly ToolRiskClassifier _classifier;

    // Made once: a lambda here would capture this state and allocate a delegate on every call with a descriptor.
    private readonly ConditionalWeakTable<ToolDescriptor, RiskProfile>.CreateValueCallback _classify;

    public EvaluatorState(PolicyDocument document, ToolRiskClassifier classifier, TimeProvider time)
    {
        Document = document;
        Policy = document.Compiled;
        _classifier = classifier;
        _classify = classifier.Classify;
        _resolutions = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = ResolutionCacheSize,
            CompactionPercentage = 0.25,
            Clock = new TimeProviderClock(time),
        });
    }

    public PolicyDocument Document { get; }

    public CompiledPolicy Policy { get; }

    public ToolResolution Resolve(string toolName)
    {
        var slot = HotSlot(toolName);
        var hot = Volatile.Read(ref _hot[slot]);
        if (hot is not null && string.Equals(hot.ToolName, toolName, StringComparison.Ordinal))
        {
            return hot;
        }

        if (!_resolutions.TryGetValue(toolName, out var cached))
        {
            cached = ResolveUncached(toolName);
            using var entry = _resolutions.CreateEntry(toolName);
            entry.Size = 1;
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
        if (descriptor is null || resolution.Classified is not null)
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

    private static RiskProfile Classified(ClassifyEntry entry) =>
        new(entry.Category, RiskProfile.DefaultLevel(entry.Category), [$"the policy's classify section says {entry.Category} ({entry.Pointer}); it overrides the classifier"]);

    public void Dispose() => _resolutions.Dispose();

    /// <summary>MemoryCache reads its clock for entry bookkeeping; give it the evaluator's TimeProvider.</summary>
    private sealed class TimeProviderClock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}
