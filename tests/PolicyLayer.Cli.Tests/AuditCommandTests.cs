using System.Text.RegularExpressions;
using PolicyLayer.Gateway;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Cli.Tests;

/// <summary>
/// <c>policylayer audit</c> and <c>policylayer replay</c> over logs the gateway itself wrote (a recorded session through
/// <see cref="GatewayHarness"/>), so the commands and the writer cannot drift apart.
/// </summary>
public class AuditCommandTests
{
    /// <summary>
    /// Records a session: 3 echo, 2 write_note (denied), 3 limited (1 allowed, 2 rate-limited), 1 approve_me (no client
    /// to ask), then two minutes later one more limited (allowed: a new window).
    /// </summary>
    private static async Task<string> RecordSessionAsync(bool values = false, Action<McpGatewayOptions>? configure = null, params (string Tool, string Arguments)[] calls)
    {
        using var proxy = new GatewayHarness(configure: o =>
        {
            o.GrantId = "g-1";
            o.AuditArgumentValues = values;
            configure?.Invoke(o);
        });
        await proxy.InitializeAsync();
        var id = 0;
        foreach (var (tool, arguments) in calls)
        {
            if (tool == "(wait)")
            {
                proxy.Time.Advance(TimeSpan.FromMinutes(2));
                continue;
            }

            await proxy.RequestAsync(Call((++id).ToString(System.Globalization.CultureInfo.InvariantCulture), tool, arguments));
        }

        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"audit-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(file, proxy.Audit.ToString());
        return file;
    }

    private static readonly (string, string)[] Session =
    [
        ("echo", """{"text":"a"}"""), ("echo", """{"text":"b"}"""), ("echo", "{}"),
        ("write_note", """{"note":"x"}"""), ("write_note", "{}"),
        ("limited", "{}"), ("limited", "{}"), ("limited", "{}"),
        ("approve_me", "{}"),
        ("(wait)", ""),
        ("limited", "{}"),
    ];

    private static string[] Lines(string text) => text.Split('\n').Select(l => l.TrimEnd()).ToArray();

    private static string Row(params string[] cells) => string.Join(@"\s+", cells.Select(Regex.Escape));

    [Test]
    public async Task Audit_SummarisesARecordedSession_ByOutcomeToolRuleCallerCounterAndTime()
    {
        var log = await RecordSessionAsync(calls: Session);

        var result = await Policylayer.RunAsync("audit", log);

        result.ExitCode.Should().Be(0, result.ToString());
        var output = result.Out;
        output.Should().StartWith("10 decisions, 2026-11-24 12:00:00Z to 2026-11-24 12:02:00Z, 1 session(s)");
        output.Should().Contain("allowed 5, refused 4, approval not given 1, would be refused (shadow) 0, errors 0");
        output.Should().MatchRegex(Row("limited", "4", "2", "2", "0", "0", "0"));
        output.Should().MatchRegex(Row("echo", "3", "3", "0", "0", "0", "0"));
        output.Should().MatchRegex(Row("/tools/write_note", "2", "denied", "No notes."));
        output.Should().MatchRegex(Row("/tools/limited/limits/0", "2", "rate_limited"));
        output.Should().MatchRegex(Row("/tools/approve_me", "1", "approval_impossible"));
        output.Should().MatchRegex(Row("test-client [grant g-1]", "10", "5", "4", "1", "0", "0"));
        output.Should().MatchRegex(Row("limited (per session)", "1", "1m", "2", "2", "100%", "2"));
        Lines(output).Should().Contain("Over time (per 10s; buckets without calls left out)");
        output.Should().NotContain("12:01:00Z", "an empty bucket is left out of the table");
        output.Should().MatchRegex(Row("2026-11-24 12:00:00Z", "9", "4", "4", "1", "0", "0"))
            .And.MatchRegex(Row("2026-11-24 12:02:00Z", "1", "1", "0", "0", "0", "0"));
    }

    [Test]
    public async Task Audit_Html_WritesOneSelfContainedPageWithThreeChartsAndEncodesNamesFromTheLog()
    {
        var log = await RecordSessionAsync(calls: [.. Session, ("<img src=x onerror=alert(1)>", "{}")]);
        var report = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"report-{Guid.NewGuid():N}.html");

        var result = await Policylayer.RunAsync("audit", log, "--html", report);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Wrote " + report);
        var html = await File.ReadAllTextAsync(report);
        html.Should().StartWith("<!DOCTYPE html>");
        Regex.Matches(html, "<svg ").Should().HaveCount(3, "decisions over time, refusing rules and budget use");
        html.Should().Contain("aria-label=\"Decisions over time, per 10s, by result\"")
            .And.Contain("<title>2026-11-24 12:00:00Z: 4 refused</title>")
            .And.Contain("<title>/tools/write_note: 2</title>")
            .And.Contain("<title>limited (per session): 100%</title>");
        html.Should().Contain("&lt;img src=x onerror=alert(1)&gt;").And.NotContain("<img");
        html.Should().NotContainAny(["<script", "http://", "https://", "<link", "@import"]);
    }

    [Test]
    public async Task Audit_LineThatIsNotAnAuditLine_IsNamedByItsLineNumber()
    {
        var log = await RecordSessionAsync(calls: [("echo", "{}"), ("echo", "{}")]);
        var lines = await File.ReadAllLinesAsync(log);
        await File.WriteAllLinesAsync(log, [lines[0], """{"v":1,"time":"2026-11-24T12:00:00.000Z"}""", lines[1]]);

        var result = await Policylayer.RunAsync("audit", log);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Err.Should().Be($"policylayer audit: {Path.GetFileName(log)}:2: \"outcome\" is missing or not a string.\n");
    }

    [Test]
    public async Task Audit_LastLineCutShort_IsSkippedWithAWarningAndTheRestSummarised()
    {
        var log = await RecordSessionAsync(calls: [("echo", "{}"), ("echo", "{}")]);
        var text = await File.ReadAllTextAsync(log);
        await File.WriteAllTextAsync(log, text[..^20]);

        var result = await Policylayer.RunAsync("audit", log);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Err.Should().Contain(":2: the last line is cut short");
        result.Out.Should().StartWith("1 decisions,");
    }

    [Test]
    public async Task Replay_ARecordedSessionUnderANewPolicy_ListsExactlyTheCallsDecidedDifferentlyWithBothRules()
    {
        var log = await RecordSessionAsync(values: true, calls:
        [
            ("echo", """{"text":"ok"}"""),       // allowed before and after
            ("echo", """{"text":"bad"}"""),      // allowed before; the new policy's deny_if refuses it
            ("write_note", """{"note":"x"}"""),  // denied before; allowed now
            ("limited", "{}"),                   // allowed before and after
            ("limited", "{}"),                   // rate-limited before (max 1); allowed now (max 2)
            ("limited", "{}"),                   // rate-limited before and after
        ]);
        var policy = await ExplainCommandTests.TempPolicy("""
            {
              "version": "1",
              "default": "deny",
              "tools": {
                "echo": { "deny_if": [ { "path": "args.text", "op": "eq", "value": "bad" } ], "reason": "No bad text." },
                "write_note": {},
                "limited": { "limits": [ { "counter": "limited", "window": "minute", "max": 2, "scope": "session" } ] }
              }
            }
            """);

        var result = await Policylayer.RunAsync("replay", "--policy", policy, log);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Out.Should().StartWith($"Replayed 6 of 6 recorded calls under {policy} (revision ").And.Contain("): 3 decided differently.");
        var rows = Lines(result.Out).Where(l => Regex.IsMatch(l, @"^\d+\s")).ToList();
        rows.Should().HaveCount(3);
        rows[0].Should().MatchRegex(Row("2", "2026-11-24 12:00:00Z", "echo", "test-client [grant g-1]", "allow by /tools/echo", "deny (denied) by /tools/echo/deny_if/0"));
        rows[1].Should().MatchRegex(Row("3", "2026-11-24 12:00:00Z", "write_note", "test-client [grant g-1]", "deny (denied) by /tools/write_note", "allow by /tools/write_note"));
        rows[2].Should().MatchRegex(Row("5", "2026-11-24 12:00:00Z", "limited", "test-client [grant g-1]", "deny (rate_limited) by /tools/limited/limits/0", "allow by /tools/limited"));
    }

    [Test]
    public async Task Replay_UnderTheSamePolicy_DecidesEveryCallTheSameAndExitsZero()
    {
        var log = await RecordSessionAsync(values: true, calls: Session);
        var policy = await ExplainCommandTests.TempPolicy(GatewayHarness.Policy);

        var result = await Policylayer.RunAsync("replay", "--policy", policy, log);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Replayed 10 of 10 recorded calls").And.Contain("): 0 decided differently.");
    }

    [Test]
    public async Task Replay_WithoutRecordedValues_SaysWhichCallsItCannotDecideAndDecidesTheRest()
    {
        var log = await RecordSessionAsync(values: false, calls: [("echo", """{"text":"a"}"""), ("limited", "{}"), ("echo", """{"text":"b"}""")]);
        var policy = await ExplainCommandTests.TempPolicy(GatewayHarness.Policy);

        var result = await Policylayer.RunAsync("replay", "--policy", policy, log);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Replayed 1 of 3 recorded calls")
            .And.Contain("Cannot decide again 2 call(s): its argument values were not recorded (write the log with --audit-arguments). Lines 1, 3.");
    }
}
