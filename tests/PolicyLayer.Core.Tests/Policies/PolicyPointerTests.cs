using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>The reader keeps each rule's and item's pointer as parts and writes it on first use: the text must be the JSON Pointer of the object.</summary>
public sealed class PolicyPointerTests
{
    private const string Json = """
        {
          "version": "1",
          "all_tools": { "limits": [ { "counter": "all", "window": "day", "max": 9 } ] },
          "tools": {
            "a/b~c": {
              "deny_if": [
                { "path": "args.x", "op": "eq", "value": 1 },
                { "conditions": [ { "path": "args.y", "op": "exists" }, { "path": "args.z", "op": "gt", "value": 2 } ], "on_deny": "no" }
              ],
              "limits": [ { "counter": "c", "window": "minute", "max": 3 } ],
              "rate_limit": { "window": "hour", "max": 5 }
            }
          },
          "risk": { "write": { "require": [ { "path": "args.ok", "op": "exists" } ] } }
        }
        """;

    [Test]
    public void Pointers_OfRulesAndTheirItems_AreTheirJsonPointers()
    {
        var policy = PolicyDocument.Parse(Json).Compiled;

        policy.Tools.TryMatch("a/b~c", out var rule, out _).Should().BeTrue();
        rule!.Pointer.Should().Be("/tools/a~1b~0c");
        rule.DenyIf[0].Pointer.Should().Be("/tools/a~1b~0c/deny_if/0");
        rule.DenyIf[0].Conditions[0].Pointer.Should().Be("/tools/a~1b~0c/deny_if/0");
        rule.DenyIf[1].Pointer.Should().Be("/tools/a~1b~0c/deny_if/1");
        rule.DenyIf[1].Conditions.Select(c => c.Pointer).Should().Equal("/tools/a~1b~0c/deny_if/1/conditions/0", "/tools/a~1b~0c/deny_if/1/conditions/1");
        rule.Limits.Select(l => l.Pointer).Should().Equal("/tools/a~1b~0c/limits/0", "/tools/a~1b~0c/rate_limit");
        rule.Limits[1].Counter.Name.Should().Be("/tools/a~1b~0c/rate_limit");
        policy.AllToolsLimits.Single().Pointer.Should().Be("/all_tools/limits/0");
        var risk = policy.RiskRules[(int)RiskCategory.Write]!;
        risk.Pointer.Should().Be("/risk/write");
        risk.Require.Single().Pointer.Should().Be("/risk/write/require/0");
    }
}
