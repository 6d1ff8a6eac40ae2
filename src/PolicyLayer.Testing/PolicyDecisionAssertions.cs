using FluentAssertions;
using FluentAssertions.Execution;

namespace PolicyLayer.Testing;

/// <summary>
/// Assertions on one <see cref="PolicyDecision"/>. Every failure message prints the decision that was made:
/// its outcome, the rule that decided, the reason, the retry time and the risk.
/// </summary>
/// <remarks>
/// <see cref="PolicyDecision"/> is a struct, so this is not a FluentAssertions <c>ReferenceTypeAssertions</c>;
/// it fails through <see cref="Execute.Assertion"/> like them, and so works inside an <see cref="AssertionScope"/>.
/// </remarks>
public sealed class PolicyDecisionAssertions
{
    /// <summary>Creates assertions on <paramref name="subject"/>.</summary>
    /// <param name="subject">The decision.</param>
    public PolicyDecisionAssertions(PolicyDecision subject) => Subject = subject;

    /// <summary>The decision under test.</summary>
    public PolicyDecision Subject { get; }

    /// <summary>Asserts that the call may go ahead.</summary>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint BeAllowed(string because = "", params object[] becauseArgs) =>
        HaveOutcome(PolicyOutcome.Allow, because, becauseArgs);

    /// <summary>Asserts that the call is refused (by a rule, a condition, a limit, the hide list or the default).</summary>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint BeDenied(string because = "", params object[] becauseArgs) =>
        HaveOutcome(PolicyOutcome.Deny, because, becauseArgs);

    /// <summary>Asserts that the call is held until a person approves it.</summary>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint RequireApproval(string because = "", params object[] becauseArgs) =>
        HaveOutcome(PolicyOutcome.RequireApproval, because, becauseArgs);

    /// <summary>Asserts the decision's outcome.</summary>
    /// <param name="expected">The outcome.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint HaveOutcome(PolicyOutcome expected, string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject.Outcome == expected)
            .WithDefaultIdentifier("decision")
            .FailWith(
                "Expected {context:decision} to be " + DecisionText.OutcomeName(expected) + "{reason}, but it was {0}.",
                new DecisionText(Subject));
        return new PolicyDecisionConstraint(this);
    }

    /// <summary>Asserts that a rate limit refused the call: denied, with a retry time.</summary>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint BeRateLimited(string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject.Outcome == PolicyOutcome.Deny && Subject.RetryAfter is not null)
            .WithDefaultIdentifier("decision")
            .FailWith("Expected {context:decision} to be rate limited (denied with a retry time){reason}, but it was {0}.", new DecisionText(Subject));
        return new PolicyDecisionConstraint(this);
    }

    /// <summary>Asserts the rule that decided: a JSON Pointer such as <c>/tools/add_execution_labels/limits/0</c>, or <c>(default)</c>, <c>(hidden)</c>.</summary>
    /// <param name="ruleId">The rule.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint BeDecidedBy(string ruleId, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(ruleId);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(string.Equals(Subject.RuleId, ruleId, StringComparison.Ordinal))
            .WithDefaultIdentifier("decision")
            .FailWith("Expected {context:decision} to be decided by {0}{reason}, but it was {1}.", ruleId, new DecisionText(Subject));
        return new PolicyDecisionConstraint(this);
    }

    /// <summary>Asserts that the reason contains <paramref name="text"/> (ordinal, case-sensitive).</summary>
    /// <param name="text">Text the reason contains.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint HaveReasonContaining(string text, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(text);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject.Reason is not null && Subject.Reason.Contains(text, StringComparison.Ordinal))
            .WithDefaultIdentifier("decision")
            .FailWith("Expected the reason of {context:decision} to contain {0}{reason}, but it was {1}.", text, new DecisionText(Subject));
        return new PolicyDecisionConstraint(this);
    }

    /// <summary>Asserts the retry time of a rate-limited call, within <paramref name="precision"/>.</summary>
    /// <param name="expected">The retry time.</param>
    /// <param name="precision">How far the actual time may be from <paramref name="expected"/>; zero when <see langword="null"/>.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint HaveRetryAfter(TimeSpan expected, TimeSpan? precision = null, string because = "", params object[] becauseArgs)
    {
        var tolerance = precision ?? TimeSpan.Zero;
        var actual = Subject.RetryAfter;
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(actual is { } retry && (retry - expected).Duration() <= tolerance)
            .WithDefaultIdentifier("decision")
            .FailWith(
                "Expected {context:decision} to have a retry time of " + DecisionText.FormatSpan(expected)
                + (tolerance > TimeSpan.Zero ? " (± " + DecisionText.FormatSpan(tolerance) + ")" : string.Empty)
                + "{reason}, but " + (actual is null ? "it had none" : "it was " + DecisionText.FormatSpan(actual.Value)) + ": {0}.",
                new DecisionText(Subject));
        return new PolicyDecisionConstraint(this);
    }

    /// <summary>Asserts the risk category the decision carries (the policy's <c>classify</c> section, else the classifier).</summary>
    /// <param name="expected">The category.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint HaveRiskCategory(RiskCategory expected, string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject.Risk?.Category == expected)
            .WithDefaultIdentifier("decision")
            .FailWith("Expected {context:decision} to carry risk {0}{reason}, but it was {1}.", new PlainText(expected.ToString()), new DecisionText(Subject));
        return new PolicyDecisionConstraint(this);
    }

    /// <summary>Asserts how many units counter <paramref name="counterName"/> has left for this caller after the call.</summary>
    /// <param name="counterName">The counter's name.</param>
    /// <param name="remaining">The units left.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint HaveRemaining(string counterName, long remaining, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(counterName);
        var budget = Subject.Counters.Where(c => c.Counter.Name == counterName).Select(c => (long?)c.Remaining).FirstOrDefault();
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(budget == remaining)
            .WithDefaultIdentifier("decision")
            .FailWith(
                "Expected counter {0} of {context:decision} to have {1} left{reason}, but "
                + (budget is null ? "the call did not count against it" : "it had " + budget.Value) + ": {2}.",
                counterName, remaining, new DecisionText(Subject));
        return new PolicyDecisionConstraint(this);
    }
}

/// <summary>Follows an assertion on a decision: refine it (<c>WithReasonContaining</c>, <c>WithRetryAfter</c>) or go on with <see cref="And"/>.</summary>
public sealed class PolicyDecisionConstraint
{
    internal PolicyDecisionConstraint(PolicyDecisionAssertions assertions) => And = assertions;

    /// <summary>Further assertions on the same decision.</summary>
    public PolicyDecisionAssertions And { get; }

    /// <summary>The decision, to inspect further.</summary>
    public PolicyDecision Which => And.Subject;

    /// <summary>Asserts that the reason contains <paramref name="text"/>.</summary>
    /// <param name="text">Text the reason contains.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint WithReasonContaining(string text, string because = "", params object[] becauseArgs) =>
        And.HaveReasonContaining(text, because, becauseArgs);

    /// <summary>Asserts the retry time, within <paramref name="precision"/>.</summary>
    /// <param name="expected">The retry time.</param>
    /// <param name="precision">How far the actual time may be from <paramref name="expected"/>; zero when <see langword="null"/>.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint WithRetryAfter(TimeSpan expected, TimeSpan? precision = null, string because = "", params object[] becauseArgs) =>
        And.HaveRetryAfter(expected, precision, because, becauseArgs);

    /// <summary>Asserts the rule that decided.</summary>
    /// <param name="ruleId">The rule, a JSON Pointer or <c>(default)</c>, <c>(hidden)</c>.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public PolicyDecisionConstraint By(string ruleId, string because = "", params object[] becauseArgs) =>
        And.BeDecidedBy(ruleId, because, becauseArgs);
}
