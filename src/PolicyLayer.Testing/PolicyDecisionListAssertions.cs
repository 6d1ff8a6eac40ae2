using FluentAssertions;
using FluentAssertions.Execution;

namespace PolicyLayer.Testing;

/// <summary>Assertions on the decisions of a run of calls (<see cref="PolicyTestCaller.CallAsync(string, int, object?, TimeSpan?, CancellationToken)"/>).</summary>
public sealed class PolicyDecisionListAssertions
{
    /// <summary>Creates assertions on <paramref name="subject"/>.</summary>
    /// <param name="subject">The decisions.</param>
    public PolicyDecisionListAssertions(PolicyDecisionList subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        Subject = subject;
    }

    /// <summary>The decisions under test.</summary>
    public PolicyDecisionList Subject { get; }

    /// <summary>Asserts that every call was allowed; a failure names the first call that was not, and why.</summary>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public AndConstraint<PolicyDecisionListAssertions> AllBeAllowed(string because = "", params object[] becauseArgs) =>
        AllHaveOutcome(PolicyOutcome.Allow, because, becauseArgs);

    /// <summary>Asserts that every call was refused; a failure names the first call that was not.</summary>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public AndConstraint<PolicyDecisionListAssertions> AllBeDenied(string because = "", params object[] becauseArgs) =>
        AllHaveOutcome(PolicyOutcome.Deny, because, becauseArgs);

    /// <summary>Asserts that every call was held for approval; a failure names the first call that was not.</summary>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public AndConstraint<PolicyDecisionListAssertions> AllRequireApproval(string because = "", params object[] becauseArgs) =>
        AllHaveOutcome(PolicyOutcome.RequireApproval, because, becauseArgs);

    /// <summary>Asserts that every call had <paramref name="expected"/>; a failure names the first call that did not.</summary>
    /// <param name="expected">The outcome.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public AndConstraint<PolicyDecisionListAssertions> AllHaveOutcome(PolicyOutcome expected, string because = "", params object[] becauseArgs)
    {
        var first = FirstMismatch(_ => expected);

        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(first < 0)
            .WithDefaultIdentifier("decisions")
            .FailWith(
                "Expected all {0} calls of {1} in {context:decisions} to be " + DecisionText.OutcomeName(expected)
                + "{reason}, but call {2} of {0} was {3} ({4}).",
                Subject.Count, Subject.ToolName, first + 1, first < 0 ? null : new DecisionText(Subject[first]), new SummaryText(Subject));
        return new AndConstraint<PolicyDecisionListAssertions>(this);
    }

    /// <summary>Asserts that exactly the first <paramref name="count"/> calls were allowed and every later one refused: the shape of a limit.</summary>
    /// <param name="count">How many calls went through.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public AndConstraint<PolicyDecisionListAssertions> AllowFirst(int count, string because = "", params object[] becauseArgs)
    {
        var wrong = FirstMismatch(i => i < count ? PolicyOutcome.Allow : PolicyOutcome.Deny);

        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(wrong < 0)
            .WithDefaultIdentifier("decisions")
            .FailWith(
                "Expected the first {0} calls of {1} in {context:decisions} to be allowed and the rest denied{reason}, but call {2} of {3} was {4} ({5}).",
                count, Subject.ToolName, wrong + 1, Subject.Count, wrong < 0 ? null : new DecisionText(Subject[wrong]), new SummaryText(Subject));
        return new AndConstraint<PolicyDecisionListAssertions>(this);
    }

    /// <summary>The index of the first call whose outcome is not the one expected at its index, or -1.</summary>
    private int FirstMismatch(Func<int, PolicyOutcome> expected)
    {
        for (var i = 0; i < Subject.Count; i++)
        {
            if (Subject[i].Outcome != expected(i))
            {
                return i;
            }
        }

        return -1;
    }

    private sealed class SummaryText(PolicyDecisionList list)
    {
        public override string ToString() => list.ToString();
    }
}
