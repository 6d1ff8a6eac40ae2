using PolicyLayer.Policies;

namespace PolicyLayer.Evaluation;

/// <summary>
/// The texts of decisions made by <c>require</c>, <c>deny_if</c> and <c>require_approval_if</c>, in one place so that
/// the decision and <c>policylayer explain</c> say the same words. A condition that cannot be evaluated is reported as
/// such, never with the author's text meant for a match.
/// </summary>
internal static class PredicateTexts
{
    /// <summary>The reason of a call refused by a <c>require</c> predicate that does not hold.</summary>
    public static string RequireFailed(CompiledRule rule, Predicate predicate, in PredicateResult result) =>
        result.Result == ConditionResult.False
            ? predicate.Reason ?? result.Decider!.Reason ?? rule.Reason ?? $"Refused: the policy requires {result.Decider!.Text}."
            : "Refused: " + CannotCheck(result);

    /// <summary>The reason of a call refused by a <c>deny_if</c> predicate that matches or cannot be evaluated.</summary>
    public static string DenyIfMatched(CompiledRule rule, Predicate predicate, in PredicateResult result) =>
        result.IsTrue
            ? predicate.Reason ?? rule.Reason ?? $"Refused: {predicate.Text}."
            : "Refused: " + CannotCheck(result);

    /// <summary>The reason of a call held by a <c>require_approval_if</c> predicate that matches or cannot be evaluated.</summary>
    public static string ApprovalNeeded(CompiledRule rule, Predicate predicate, in PredicateResult result) =>
        result.IsTrue
            ? predicate.Reason ?? rule.Reason ?? $"Needs a person's approval because {predicate.Text}."
            : "Needs a person's approval: " + CannotCheck(result);

    /// <summary>The rule id of a decision: the condition that decided when one did alone (false, or not evaluable), else the predicate.</summary>
    public static string RuleId(Predicate predicate, in PredicateResult result) =>
        result.Decider is { } condition && !result.IsTrue ? condition.Pointer : predicate.Pointer;

    /// <summary>"args.amount is missing or not a number, so the policy cannot check args.amount gt 100."</summary>
    public static string CannotCheck(in PredicateResult result)
    {
        var condition = result.Decider!;
        return $"{Why(condition, result.Result)}, so the policy cannot check {condition.Text}.";
    }

    /// <summary>Why a condition cannot be evaluated, in words about the call: what is missing or of the wrong type.</summary>
    public static string Why(Condition condition, ConditionResult result)
    {
        var path = condition.Path.Text;
        return result switch
        {
            ConditionResult.TimedOut => $"matching {path} against the regular expression took too long",
            ConditionResult.SeveralValues => $"{path} has several values and \"{OperatorName(condition.Operator)}\" compares one (use contains, in or not_in)",
            _ => condition.Operator switch
            {
                ConditionOperator.Lt or ConditionOperator.Lte or ConditionOperator.Gt or ConditionOperator.Gte => $"{path} is missing or not a number",
                ConditionOperator.Regex => $"{path} is missing or not a string",
                ConditionOperator.Contains => $"{path} is missing or neither a string nor a list",
                _ => $"{path} is missing",
            },
        };
    }

    /// <summary>A condition's answer in words, for explanations.</summary>
    public static string Describe(Condition condition, ConditionResult result) => result switch
    {
        ConditionResult.True => "true",
        ConditionResult.False => "false",
        _ => $"cannot be checked ({Why(condition, result)})",
    };

    private static string OperatorName(ConditionOperator op) =>
        PolicyReaderV1.Operators.First(o => o.Value == op).Key;
}
