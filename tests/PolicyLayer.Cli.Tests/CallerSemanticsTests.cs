using PolicyLayer.Cli.Cases;
using PolicyLayer.Testing;

namespace PolicyLayer.Cli.Tests;

/// <summary>
/// Conditions on the caller in a cases file, and the two ways of testing a policy (a cases file and
/// <see cref="PolicyTestHarness"/>) giving a caller the same defaults, so that one scenario decides the same in both.
/// </summary>
[Category(Policylayer.ProcessLevel)]
public class CallerSemanticsTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "callers", name);

    [Test]
    public async Task Test_CallerClaimsCases_AllPass()
    {
        var result = await Policylayer.RunAsync("test", Fixture("refunds.policy.json"), Fixture("refunds.cases.json"));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("4 cases: 4 passed, 0 failed.");
    }

    [Test]
    public void DefaultCaller_IsTheSameInCasesFilesAndTheHarness()
    {
        CasesReader.DefaultCaller.GrantId.Should().Be(PolicyTestHarness.DefaultCaller.GrantId);
        CasesReader.DefaultCaller.SessionId.Should().Be(PolicyTestHarness.DefaultCaller.SessionId);
        CasesReader.DefaultCaller.AgentId.Should().Be(PolicyTestHarness.DefaultCaller.AgentId);
        CasesReader.DefaultCaller.UserId.Should().Be(PolicyTestHarness.DefaultCaller.UserId);
    }

    // One scenario: a caller that names only its grant calls a tool under a per-session shorthand three times.
    private const string Policy = """{ "version": "1", "tools": { "search": { "rate_limit": { "max": 2, "window": 60 } } } }""";

    [Test]
    public async Task GrantOnlyCaller_CasesFile_KeepsTheDefaultSession()
    {
        var policy = await ExplainCommandTests.TempPolicy(Policy);
        var cases = await ExplainCommandTests.TempPolicy("""
            { "cases": [ { "name": "grant x", "caller": { "grant": "x" }, "steps": [
              { "call": "search", "times": 2, "expect": "allow" },
              { "call": "search", "expect": { "outcome": "rate_limited", "rule": "/tools/search/rate_limit" } } ] } ] }
            """);

        var result = await Policylayer.RunAsync("test", policy, cases);

        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Test]
    public async Task GrantOnlyCaller_Harness_KeepsTheDefaultSession()
    {
        using var harness = PolicyTestHarness.FromJson(Policy);

        var decisions = await harness.AsGrant("x").CallAsync("search", times: 3);

        decisions.Should().AllowFirst(2);
        decisions[2].RuleId.Should().Be("/tools/search/rate_limit");
    }

    [Test]
    public async Task RemovingAnId_WorksTheSameInBoth()
    {
        var policy = await ExplainCommandTests.TempPolicy(Policy);
        var cases = await ExplainCommandTests.TempPolicy("""
            { "cases": [ { "name": "no session", "caller": { "session": null }, "steps": [
              { "call": "search", "expect": { "outcome": "deny", "reason_contains": "no session id" } } ] } ] }
            """);
        using var harness = PolicyTestHarness.FromJson(Policy);

        var result = await Policylayer.RunAsync("test", policy, cases);
        var decision = await harness.AsDefaultCaller.WithSession(null).CallAsync("search");

        result.ExitCode.Should().Be(0, result.ToString());
        decision.Should().BeDenied().WithReasonContaining("no session id");
    }
}
