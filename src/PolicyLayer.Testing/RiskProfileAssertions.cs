using FluentAssertions;
using FluentAssertions.Execution;
using FluentAssertions.Primitives;

namespace PolicyLayer.Testing;

/// <summary>Assertions on a tool's <see cref="RiskProfile"/>; failure messages print the category, level and evidence.</summary>
public sealed class RiskProfileAssertions : ReferenceTypeAssertions<RiskProfile, RiskProfileAssertions>
{
    /// <summary>Creates assertions on <paramref name="subject"/>.</summary>
    /// <param name="subject">The risk profile.</param>
    public RiskProfileAssertions(RiskProfile subject)
        : base(subject)
    {
    }

    /// <inheritdoc />
    protected override string Identifier => "risk";

    /// <summary>Asserts the category.</summary>
    /// <param name="expected">The category.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public AndConstraint<RiskProfileAssertions> BeCategory(RiskCategory expected, string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null && Subject.Category == expected)
            .FailWith("Expected {context:risk} to be {0}{reason}, but it was {1}.", new PlainText(expected.ToString()), Describe(Subject));
        return new AndConstraint<RiskProfileAssertions>(this);
    }

    /// <summary>Asserts the level.</summary>
    /// <param name="expected">The level.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public AndConstraint<RiskProfileAssertions> HaveLevel(RiskLevel expected, string because = "", params object[] becauseArgs)
    {
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null && Subject.Level == expected)
            .FailWith("Expected {context:risk} to have level {0}{reason}, but it was {1}.", new PlainText(expected.ToString()), Describe(Subject));
        return new AndConstraint<RiskProfileAssertions>(this);
    }

    /// <summary>Asserts that one piece of evidence contains <paramref name="text"/> (case-insensitive).</summary>
    /// <param name="text">Text some evidence contains.</param>
    /// <param name="because">Why, formatted with <paramref name="becauseArgs"/>.</param>
    /// <param name="becauseArgs">The arguments of <paramref name="because"/>.</param>
    [CustomAssertion]
    public AndConstraint<RiskProfileAssertions> HaveEvidenceContaining(string text, string because = "", params object[] becauseArgs)
    {
        ArgumentNullException.ThrowIfNull(text);
        Execute.Assertion
            .BecauseOf(because, becauseArgs)
            .ForCondition(Subject is not null && Subject.Evidence.Any(e => e.Contains(text, StringComparison.OrdinalIgnoreCase)))
            .FailWith("Expected the evidence of {context:risk} to mention {0}{reason}, but it was {1}.", text, Describe(Subject));
        return new AndConstraint<RiskProfileAssertions>(this);
    }

    private static RiskText Describe(RiskProfile? risk) => new(risk);

    private sealed class RiskText(RiskProfile? risk)
    {
        public override string ToString() =>
            risk is null ? "<null>" : $"{risk.Category}/{risk.Level} (evidence: {string.Join("; ", risk.Evidence)})";
    }
}
