using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Cli.Commands;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Cases;

/// <summary>The result of one case: passed, or the first step whose decision differed from the expectation.</summary>
internal sealed record CaseResult(TestCase Case, string? FailedStep, IReadOnlyList<string> Differences);

/// <summary>
/// Runs cases against a policy: each case gets a fresh evaluator with empty in-memory counters on a fake clock
/// that starts at the file's <c>start</c> (default 2026-01-05T09:00:00Z) and moves only on <c>advance</c> and
/// <c>interval</c>. A case stops at its first failing step, since later steps depend on the counters.
/// </summary>
internal static class CaseRunner
{
    public static readonly DateTimeOffset DefaultStart = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    public static async Task<CaseResult> RunAsync(PolicyDocument policy, CasesFile file, TestCase testCase, CancellationToken cancellationToken)
    {
        var time = new FakeTimeProvider(file.Start ?? DefaultStart);
        using var evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions { TimeProvider = time });
        foreach (var step in testCase.Steps)
        {
            if (step.Advance is { } by)
            {
                time.Advance(by);
                continue;
            }

            for (var i = 0; i < step.Times; i++)
            {
                if (i > 0 && step.Interval is { } interval)
                {
                    time.Advance(interval);
                }

                var call = new ToolCall(step.Tool!, step.Caller ?? testCase.Caller, step.Arguments, step.Descriptor) { IsApproved = step.Approved };
                var decision = await evaluator.EvaluateAsync(call, cancellationToken).ConfigureAwait(false);
                var differences = Compare(step.Expect!, decision);
                if (differences.Count > 0)
                {
                    var which = step.Times > 1 ? $", call {i + 1} of {step.Times}" : string.Empty;
                    var at = time.GetUtcNow() - (file.Start ?? DefaultStart);
                    return new CaseResult(testCase, $"{step.Pointer} ({step.Tool}{which}, at +{Durations.Format(at)})", differences);
                }
            }
        }

        return new CaseResult(testCase, null, []);
    }

    /// <summary>Each expected field that the decision does not have, as "field: expected X, actual Y".</summary>
    internal static List<string> Compare(Expectation expect, in PolicyDecision decision)
    {
        var differences = new List<string>();
        var expectedOutcome = expect.RateLimited ? "rate_limited" : ExplainCommand.OutcomeName(expect.Outcome);
        var rateLimited = decision.Outcome == PolicyOutcome.Deny && decision.RetryAfter is not null;
        var actualOutcome = rateLimited ? "rate_limited" : ExplainCommand.OutcomeName(decision.Outcome);
        if (decision.Outcome != expect.Outcome || (expect.RateLimited && !rateLimited))
        {
            differences.Add($"outcome  expected {expectedOutcome}, actual {actualOutcome}");
        }

        if (expect.Rule is { } rule && rule != decision.RuleId)
        {
            differences.Add($"rule     expected {rule}, actual {decision.RuleId}");
        }

        if (expect.ReasonContains is { } text && !decision.Reason.Contains(text, StringComparison.Ordinal))
        {
            differences.Add($"reason   expected to contain \"{text}\", actual \"{decision.Reason}\"");
        }

        if (expect.RetryAfter is { } retry && decision.RetryAfter != retry)
        {
            differences.Add($"retry    expected {Durations.Format(retry)}, actual {(decision.RetryAfter is { } r ? Durations.Format(r) : "none")}");
        }

        if (expect.Risk is { } risk && decision.Risk?.Category != risk)
        {
            differences.Add($"risk     expected {risk.ToString().ToLowerInvariant()}, actual {decision.Risk?.Category.ToString().ToLowerInvariant() ?? "none"}");
        }

        foreach (var (counter, units) in expect.Remaining ?? new Dictionary<string, long>())
        {
            var budget = decision.Counters.Where(c => c.Counter.Name == counter).Select(c => (long?)c.Remaining).FirstOrDefault();
            if (budget != units)
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture, $"counter  expected '{counter}' to have {units} left, actual {(budget is null ? "not counted" : budget.Value)}"));
            }
        }

        if (differences.Count > 0)
        {
            // The whole decision, so that the reader sees why without running explain.
            differences.Add($"decision {actualOutcome} by {decision.RuleId}: {decision.Reason}");
        }

        return differences;
    }
}
