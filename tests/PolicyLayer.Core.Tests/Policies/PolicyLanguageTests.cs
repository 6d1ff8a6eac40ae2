using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Evaluation;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>Load-time rules of the language: revisions, default scopes, counters that cannot be shared by accident, sizes.</summary>
public class PolicyLanguageTests
{
    private static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    [Test]
    public void HostedShapes_Fixture_LoadsWithItsDeclaredRevision()
    {
        var policy = PolicyDocument.Load(Fixture("valid", "hosted-shapes.json"));

        policy.Revision.Should().Be("2026-11-29.1");
    }

    [Test]
    public void Revision_IsAHashOfContent_NotOfLayout()
    {
        var compact = PolicyDocument.Parse("""{"version":"1","tools":{"a":{}}}""");
        var indented = PolicyDocument.Parse("{\n  \"version\": \"1\",\n  \"tools\": { \"a\": { } }\n}\n");
        var changed = PolicyDocument.Parse("""{"version":"1","tools":{"b":{}}}""");

        compact.Revision.Should().MatchRegex("^[0-9a-f]{12}$");
        indented.Revision.Should().Be(compact.Revision);
        changed.Revision.Should().NotBe(compact.Revision);
    }

    [Test]
    public void Revision_IsTheSha256OfTheCompactText_AlsoWhenAValueIsLongerThanTheHashingBuffer()
    {
        // 40,000 characters: longer than the 16 KiB buffer the revision is hashed through.
        var reason = new string('r', 40_000);
        var compact = "{\"version\":\"1\",\"tools\":{\"a\":{\"reason\":\"" + reason + "\"}}}";
        var indented = $$"""
            {
              "version": "1",
              "tools": { "a": { "reason": "{{reason}}" } }
            }
            """;
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(compact)))[..12];

        PolicyDocument.Parse(indented).Revision.Should().Be(expected);
    }

    [Test]
    public void Revision_OfASmallDocument_HashedWithoutThePlatform_IsTheSha256OfTheCompactText()
    {
        const string indented = """
            {
              "version": "1",
              "tools": { "delete_*": { "action": "deny", "reason": "People delete, agents do not." } }
            }
            """;
        var compact = "{\"version\":\"1\",\"tools\":{\"delete_*\":{\"action\":\"deny\",\"reason\":\"People delete, agents do not.\"}}}";
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(compact)))[..12];

        PolicyDocument.Parse(indented).Revision.Should().Be(expected);
    }

    [Test]
    public void ErrorDeepInADocument_NamesItsFullPath_WithQuotedKeysAndIndexes()
    {
        const string json = """
            { "version": "1", "tools": { "a.b": { "deny_if": [ { "conditions": [ { "path": "args.x", "op": "eq", "value": 1 }, { "path": "args.y", "op": "lt", "value": "ten" } ] } ] } } }
            """;

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>()
            .Which.Errors.Should().ContainSingle()
            .Which.Path.Should().Be("$.tools['a.b'].deny_if[0].conditions[1].value");
    }

    [Test]
    public void OneCounter_CountedWithTwoAmounts_InOneRuleOrAgainstAllTools_IsALoadError_AtTheLaterLimit()
    {
        const string json = """
            {
              "version": "1",
              "all_tools": { "limits": [ { "counter": "c", "window": "minute", "max": 10 } ] },
              "tools": {
                "a": { "limits": [ { "counter": "c", "window": "minute", "max": 10, "increment_from": "args.n" } ] },
                "b": { "limits": [ { "counter": "d", "window": "minute", "max": 5 }, { "counter": "d", "window": "minute", "max": 5, "increment_from": "args.n" } ] },
                "ok": { "limits": [ { "counter": "c", "window": "minute", "max": 10 }, { "counter": "e", "window": "minute", "max": 5 } ] }
              }
            }
            """;

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Select(e => $"{e.Path}: {e.Message}").Should().Equal(
            "$.tools.a.limits[0]: Counter 'c' is also counted by /all_tools/limits/0 (adding 1 per call), and one call counts a counter once: "
            + "here it is adding args.n. Give each amount a counter of its own, or use the same increment_from.",
            "$.tools.b.limits[1]: Counter 'd' is also counted by /tools/b/limits/0 (adding 1 per call), and one call counts a counter once: "
            + "here it is adding args.n. Give each amount a counter of its own, or use the same increment_from.");
    }

    [Test]
    public async Task Limit_WithoutScope_CountsPerGrant_AsTheHostedGatewayDoes()
    {
        using var evaluator = new PolicyEvaluator(
            PolicyDocument.Parse("""{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 1 } ] } } }"""),
            new PolicyEvaluatorOptions { TimeProvider = new FakeTimeProvider() });

        var first = await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity { GrantId = "g", SessionId = "s1" }));
        var reconnected = await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity { GrantId = "g", SessionId = "s2" }));
        var otherGrant = await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity { GrantId = "h", SessionId = "s2" }));

        evaluator.Policy.Counters[0].Scope.Should().Be(CounterScope.Grant);
        first.IsAllowed.Should().BeTrue();
        reconnected.Outcome.Should().Be(PolicyOutcome.Deny, "a new session of the same grant shares the grant's budget");
        otherGrant.IsAllowed.Should().BeTrue();
    }

    [Test]
    public void RateLimitShorthand_WithoutScope_StaysPerSession()
    {
        var policy = PolicyDocument.Parse("""{ "version": "1", "tools": { "t": { "rate_limit": { "max": 3, "window": 60 } } } }""");

        policy.Counters.Should().ContainSingle().Which.Scope.Should().Be(CounterScope.Session);
    }

    [Test]
    public void NamedCounter_CannotTakeAShorthandsName()
    {
        var act = () => PolicyDocument.Parse("""
            { "version": "1", "tools": {
              "a": { "rate_limit": { "max": 3, "window": 60 } },
              "b": { "limits": [ { "counter": "/tools/a/rate_limit", "window": 60, "max": 3, "scope": "session" } ] } } }
            """);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle(e => e.Path == "$.tools.b.limits[0].counter" && e.Message.Contains("reserved"));
    }

    [Test]
    public void CounterNamedTwiceInOneCall_WithDifferentAmounts_IsALoadError()
    {
        var act = () => PolicyDocument.Parse("""
            { "version": "1", "tools": { "pay": { "limits": [
              { "counter": "spend", "window": "day", "max": 100, "increment_from": "args.amount" },
              { "counter": "spend", "window": "day", "max": 100, "increment_from": "args.fee" } ] } } }
            """);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle(e => e.Path == "$.tools.pay.limits[1]" && e.Message.Contains("one call counts a counter once"));
    }

    [Test]
    public async Task CounterNamedTwiceInOneCall_WithOneAmount_CountsOnce_AndExplainSaysSo()
    {
        var policy = PolicyDocument.Parse("""
            { "version": "1",
              "all_tools": { "limits": [ { "counter": "spend", "window": "day", "max": 100, "increment_from": "args.amount" } ] },
              "tools": { "pay": { "limits": [ { "counter": "spend", "window": "day", "max": 100, "increment_from": "args.amount" } ] } } }
            """);
        var time = new FakeTimeProvider();
        using var evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions { TimeProvider = time });
        var call = new ToolCall("pay", new CallerIdentity { GrantId = "g" }, new Dictionary<string, System.Text.Json.JsonElement> { ["amount"] = System.Text.Json.JsonDocument.Parse("60").RootElement });

        var first = await evaluator.EvaluateAsync(call);
        var explanation = await PolicyExplainer.ExplainAsync(policy, call, ToolRiskClassifier.Default, time);

        first.IsAllowed.Should().BeTrue("60 counted once is within 100; counted twice it would be 120");
        first.Counters.Should().ContainSingle().Which.Remaining.Should().Be(40);
        explanation.Steps.SelectMany(s => s.Children).Should().Contain(s => s.Detail.Contains("one call counts it once"));
    }

    [Test]
    public void Load_OversizedFile_ReportsItsRealSize()
    {
        var file = Path.Combine(Path.GetTempPath(), $"oversized-{Guid.NewGuid():N}.json");
        var size = PolicyDocument.MaxDocumentBytes + 1_000_000;
        File.WriteAllText(file, "{\"version\":\"1\",\"x\":\"" + new string('a', size - 23) + "\"}");
        try
        {
            var act = () => PolicyDocument.Load(file);

            act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle()
                .Which.Message.Should().StartWith($"The document is {new FileInfo(file).Length} bytes;");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task Regex_TimedOut_HasAReasonOfItsOwn()
    {
        // A one-tick budget on a long input: the only way to make a linear-time match run out of time in a test.
        var condition = new Condition
        {
            Pointer = "/tools/t/deny_if/0",
            Path = ConditionPath.ForArguments(new ArgumentPath("args.q", ["q"])),
            Operator = ConditionOperator.Regex,
            Regex = new System.Text.RegularExpressions.Regex("x$", System.Text.RegularExpressions.RegexOptions.NonBacktracking, TimeSpan.FromTicks(1)),
            Text = "args.q regex x$",
        };
        var args = new Dictionary<string, System.Text.Json.JsonElement> { ["q"] = System.Text.Json.JsonSerializer.SerializeToElement(new string('a', 4_000_000)) };
        var predicate = new Predicate { Pointer = condition.Pointer, Conditions = [condition], Text = condition.Text };

        var result = await Task.Run(() => ConditionEvaluator.Evaluate(predicate, new ToolCall("t", arguments: args)));

        result.Result.Should().Be(ConditionResult.TimedOut);
        PredicateTexts.CannotCheck(result).Should().Be("matching args.q against the regular expression took too long, so the policy cannot check args.q regex x$.");
    }
}
