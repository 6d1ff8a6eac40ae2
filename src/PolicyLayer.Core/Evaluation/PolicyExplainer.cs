using System.Globalization;
using PolicyLayer.Policies;

namespace PolicyLayer.Evaluation;

/// <summary>How one rule or condition figured in a decision.</summary>
internal enum ExplanationVerdict
{
    /// <summary>This rule or condition made the decision.</summary>
    Decides,

    /// <summary>Matched or held, and evaluation went on.</summary>
    Passes,

    /// <summary>Matched the tool but lost to a rule of higher precedence.</summary>
    NotUsed,

    /// <summary>Did not match or did not apply.</summary>
    NoMatch,

    /// <summary>Never looked at, because an earlier step decided.</summary>
    NotReached,

    /// <summary>Information, such as the tool's risk or a limit's budget.</summary>
    Info,
}

/// <summary>One line of an explanation, with the lines of the rule's parts under it.</summary>
internal sealed record ExplanationStep(string Rule, ExplanationVerdict Verdict, string Detail, IReadOnlyList<ExplanationStep> Children)
{
    public ExplanationStep(string rule, ExplanationVerdict verdict, string detail)
        : this(rule, verdict, detail, [])
    {
    }
}

/// <summary>Why a call got its decision: the decision itself, and every rule that was considered in precedence order.</summary>
internal sealed class PolicyExplanation
{
    public required ToolCall Call { get; init; }

    public required PolicyDecision Decision { get; init; }

    public required RiskProfile Risk { get; init; }

    public required IReadOnlyList<ExplanationStep> Steps { get; init; }
}

/// <summary>
/// Explains a decision for people (<c>policylayer explain</c>): it walks the policy's precedence (hide, exact
/// rule, globs by specificity, risk rule, default) and evaluates each condition, then takes the decision
/// itself from a real <see cref="PolicyEvaluator"/> with fresh counters, so that the two cannot disagree.
/// </summary>
internal static class PolicyExplainer
{
    public static async Task<PolicyExplanation> ExplainAsync(
        PolicyDocument document, ToolCall call, ToolRiskClassifier classifier, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(call);
        PolicyDecision decision;
        RiskProfile risk;
        using (var evaluator = new PolicyEvaluator(document, new PolicyEvaluatorOptions { TimeProvider = time, Classifier = classifier }))
        {
            decision = await evaluator.EvaluateAsync(call, cancellationToken).ConfigureAwait(false);
            risk = evaluator.Classify(call.Tool ?? new ToolDescriptor(call.ToolName));
        }

        var policy = document.Compiled;
        var steps = new List<ExplanationStep>();
        var decided = false;

        var hides = policy.Hide.MatchAll(call.ToolName).Select(m => m.Key).ToList();
        if (hides.Count > 0)
        {
            steps.Add(new("hide", ExplanationVerdict.Decides, $"'{hides[0]}' in hide matches '{call.ToolName}': the call is refused and tools/list does not show the tool."));
            decided = true;
        }
        else
        {
            steps.Add(new("hide", ExplanationVerdict.NoMatch, $"no entry of hide matches '{call.ToolName}'."));
        }

        var toolRules = policy.Tools.MatchAll(call.ToolName).ToList();
        if (toolRules.Count == 0)
        {
            steps.Add(new("tools", decided ? ExplanationVerdict.NotReached : ExplanationVerdict.NoMatch, $"no rule in tools names or matches '{call.ToolName}'."));
        }

        for (var i = 0; i < toolRules.Count; i++)
        {
            var (key, rule) = (toolRules[i].Key, toolRules[i].Value);
            var kind = GlobPattern.IsGlob(key) ? $"glob '{key}' matches" : "exact name";
            if (i == 0 && !decided)
            {
                steps.Add(new(rule.Pointer, ExplanationVerdict.Decides, $"{kind}: this rule applies.", ExplainRule(rule, call, policy)));
                decided = true;
            }
            else if (i == 0)
            {
                steps.Add(new(rule.Pointer, ExplanationVerdict.NotReached, $"{kind}, but the tool is hidden."));
            }
            else
            {
                steps.Add(new(rule.Pointer, ExplanationVerdict.NotUsed, $"{kind}, but '{toolRules[0].Key}' takes precedence (exact name first, then fewest wildcards, then the longest pattern)."));
            }
        }

        var riskText = $"the tool is {risk.Category}/{risk.Level}: {string.Join("; ", risk.Evidence)}";
        var riskRule = policy.RiskRules[(int)risk.Category];
        var riskPointer = "/risk/" + CategoryName(risk.Category);
        if (decided)
        {
            steps.Add(new(riskPointer, ExplanationVerdict.NotReached, riskText + (riskRule is null ? "; the policy has no rule for this category." : "; its rule is not consulted.")));
        }
        else if (riskRule is not null)
        {
            steps.Add(new(riskPointer, ExplanationVerdict.Decides, riskText + "; no tools rule matches, so the risk rule applies.", ExplainRule(riskRule, call, policy)));
            decided = true;
        }
        else
        {
            steps.Add(new(riskPointer, ExplanationVerdict.NoMatch, riskText + "; the policy has no rule for this category."));
        }

        var defaultName = ActionName(policy.DefaultAction);
        steps.Add(decided
            ? new("(default)", ExplanationVerdict.NotReached, $"default is {defaultName}; not reached.")
            : new("(default)", ExplanationVerdict.Decides, $"no rule matches: the default, {defaultName}, applies.", LimitSteps(call, policy, null)));

        return new PolicyExplanation { Call = call, Decision = decision, Risk = risk, Steps = steps };
    }

    private static List<ExplanationStep> ExplainRule(CompiledRule rule, ToolCall call, CompiledPolicy policy)
    {
        var parts = new List<ExplanationStep>
        {
            new(rule.Pointer, ExplanationVerdict.Info, $"action {ActionName(rule.Action)}" + (rule.Reason is null ? "." : $", reason \"{rule.Reason}\".")),
        };
        if (rule.Action == PolicyAction.Deny)
        {
            return parts;
        }

        foreach (var predicate in rule.Require)
        {
            var result = ConditionEvaluator.Evaluate(predicate, call);
            parts.Add(result.IsTrue
                ? new(predicate.Pointer, ExplanationVerdict.Passes, $"require {predicate.Text}: holds.", ConditionSteps(predicate, call))
                : new(PredicateTexts.RuleId(predicate, result), ExplanationVerdict.Decides, $"require {predicate.Text}: does not hold; the call is refused: {PredicateTexts.RequireFailed(rule, predicate, result)}", ConditionSteps(predicate, call)));
        }

        foreach (var predicate in rule.DenyIf)
        {
            var result = ConditionEvaluator.Evaluate(predicate, call);
            parts.Add(result.IsFalse
                ? new(predicate.Pointer, ExplanationVerdict.NoMatch, $"deny_if {predicate.Text}: does not match.", ConditionSteps(predicate, call))
                : new(PredicateTexts.RuleId(predicate, result), ExplanationVerdict.Decides, $"deny_if {predicate.Text}: refuses the call: {PredicateTexts.DenyIfMatched(rule, predicate, result)}", ConditionSteps(predicate, call)));
        }

        foreach (var predicate in rule.RequireApprovalIf)
        {
            var result = ConditionEvaluator.Evaluate(predicate, call);
            parts.Add(result.IsFalse
                ? new(predicate.Pointer, ExplanationVerdict.NoMatch, $"require_approval_if {predicate.Text}: does not match.", ConditionSteps(predicate, call))
                : call.IsApproved
                    ? new(PredicateTexts.RuleId(predicate, result), ExplanationVerdict.Passes, $"require_approval_if {predicate.Text}: would hold the call, which is already approved.", ConditionSteps(predicate, call))
                    : new(PredicateTexts.RuleId(predicate, result), ExplanationVerdict.Decides, $"require_approval_if {predicate.Text}: holds the call for approval: {PredicateTexts.ApprovalNeeded(rule, predicate, result)}", ConditionSteps(predicate, call)));
        }

        parts.AddRange(LimitSteps(call, policy, rule));
        return parts;
    }

    private static List<ExplanationStep> LimitSteps(ToolCall call, CompiledPolicy policy, CompiledRule? rule)
    {
        var steps = new List<ExplanationStep>();
        var counted = new List<CompiledLimit>();
        foreach (var limit in (rule?.Limits ?? []).Concat(policy.AllToolsLimits))
        {
            var counter = limit.Counter;
            var key = call.Caller.GetScopeKey(counter.Scope);
            var scope = counter.Scope.ToString().ToLowerInvariant();
            var adds = limit.IncrementFrom is { } from ? $"adds the number at {from.Text}" : "adds 1";
            if (counted.FirstOrDefault(c => ReferenceEquals(c.Counter, counter)) is { } first)
            {
                // The loader refuses two amounts for one counter in one call, so this one adds what the first does.
                steps.Add(new(limit.Pointer, ExplanationVerdict.Info, $"counter '{counter.Name}' is also named by {first.Pointer}; one call counts it once, not twice."));
                continue;
            }

            counted.Add(limit);
            var text = string.Create(
                CultureInfo.InvariantCulture,
                $"counter '{counter.Name}': at most {counter.Max} per {PolicyReaderV1.Format(counter.Window)} per {scope}; each call {adds}; ");
            steps.Add(key is null
                ? new(limit.Pointer, ExplanationVerdict.Decides, text + $"the caller has no {scope} id, so the call is refused.")
                : new(limit.Pointer, ExplanationVerdict.Info, text + (counter.Scope == CounterScope.Global ? "one budget for everyone." : $"counted for {scope} '{key}'.")));
        }

        return steps;
    }

    /// <summary>Each condition of a predicate with its answer (none for a bare condition, whose line says it all).</summary>
    private static List<ExplanationStep> ConditionSteps(Predicate predicate, ToolCall call) =>
        predicate.Conditions is [var only] && only.Pointer == predicate.Pointer
            ? [new(only.Pointer, ExplanationVerdict.Info, $"{only.Text}: {PredicateTexts.Describe(only, ConditionEvaluator.Evaluate(only, call))}.")]
            : [.. predicate.Conditions.Select(c => new ExplanationStep(c.Pointer, ExplanationVerdict.Info, $"{c.Text}: {PredicateTexts.Describe(c, ConditionEvaluator.Evaluate(c, call))}."))];

    internal static string ActionName(PolicyAction action) => action switch
    {
        PolicyAction.Allow => "allow",
        PolicyAction.Deny => "deny",
        _ => "require_approval",
    };

    internal static string CategoryName(RiskCategory category) => category.ToString().ToLowerInvariant();
}
