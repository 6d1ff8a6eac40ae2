using System.Text;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>The dump the fast reader is held to: the same policy dumps the same, and any change a reader could make shows.</summary>
public sealed class CompiledPolicyDumpTests
{
    /// <summary>Every section of the format, so that a change anywhere has a line to change.</summary>
    internal const string EveryField = """
        {
          "$schema": "./policy.schema.json",
          "version": "1",
          "revision": "2026-11-30.1",
          "default": "require_approval",
          "hide": ["delete_account", "drop_*"],
          "all_tools": { "limits": [ { "counter": "all_calls", "window": "minute", "max": 120, "scope": "global" } ] },
          "tools": {
            "create_refund": {
              "reason": "Refunds are checked.",
              "require": [ { "conditions": [ { "path": "args.reason", "op": "exists" } ], "on_deny": "Say why." } ],
              "deny_if": [
                { "conditions": [ { "path": "caller.claims.http://x/role", "op": "contains", "value": "contractor" },
                                  { "path": "args.amount", "op": "gt", "value": 100 } ], "on_deny": "Up to 100." },
                { "path": "args.order.lines.0.sku", "op": "regex", "value": "^[A-Z]{3}-\\d+$", "reason": "Bad sku." },
                { "path": "caller.user", "op": "in", "value": ["a", 1, true, null] }
              ],
              "require_approval_if": [ { "path": "args.note", "op": "exists", "value": false } ],
              "limits": [ { "counter": "refund_total", "window": "1d", "max": 50000, "increment_from": "args.amount" },
                          { "counter": "all_calls", "window": 60, "max": 120, "scope": "global" } ]
            },
            "search_*": { "rate_limit": { "max": 10, "window": 60 } },
            "list_*": {},
            "l?st_*": {},
            "get_thing": {},
            "get_*": {},
            "put_*": {},
            "delete_*": { "action": "deny", "reason": "People delete." }
          },
          "risk": { "read": { "action": "allow" }, "destructive": { "action": "require_approval", "rate_limit": { "max": 1, "window": "hour", "scope": "user" } } },
          "classify": { "create_refund": "financial", "run_*": "execute" }
        }
        """;

    [Test]
    public void TwoLoadsOfOneDocument_DumpEqual_AndNameEverySection()
    {
        var first = CompiledPolicyDump.Of(PolicyDocument.Parse(EveryField).Compiled);
        var second = CompiledPolicyDump.Of(PolicyDocument.Parse(EveryField).Compiled);

        second.Should().Be(first);
        CompiledPolicyDump.FirstDifference(first, second).Should().BeNull();
        first.Should().Contain("declared_revision \"2026-11-30.1\"")
            .And.Contain("\"drop_*\" = True")
            .And.Contain("glob precedence: \"search_*\" \"delete_*\" \"list_*\" \"get_*\" \"put_*\" \"l?st_*\"")
            .And.Contain("path \"caller.claims.http://x/role\" source Claim claim \"http://x/role\" argument none")
            .And.Contain("argument \"args.order.lines.0.sku\" [\"order\", \"lines\", \"0\", \"sku\"]")
            .And.Contain("value Array \"[\\\"a\\\", 1, true, null]\"")
            .And.Contain("regex \"^[A-Z]{3}-\\\\d+$\" options CultureInvariant, NonBacktracking")
            .And.Contain("exists_expected false")
            .And.Contain("limit \"/tools/create_refund/limits/1\" counter #0 increment_from none")
            .And.Contain("limit \"/risk/destructive/rate_limit\" counter #3")
            .And.Contain("\"run_*\" = Execute at \"/classify/run_*\"")
            .And.Contain("[2] \"/tools/search_*/rate_limit\" max 10 window 600000000 ticks scope Session ordinal 2 increment_from none");
    }

    /// <summary>Each edit changes one fact of the compiled policy (the document stays valid); the dump must show it.</summary>
    [TestCase("\"max\": 50000", "\"max\": 50001")]
    [TestCase("\"window\": \"1d\"", "\"window\": \"2d\"")]
    [TestCase("\"scope\": \"user\"", "\"scope\": \"agent\"")]
    [TestCase("\"increment_from\": \"args.amount\"", "\"increment_from\": \"args.total\"")]
    [TestCase("\"default\": \"require_approval\"", "\"default\": \"allow\"")]
    [TestCase("\"revision\": \"2026-11-30.1\",", "")]
    [TestCase("\"Say why.\"", "\"Say why!\"")]
    [TestCase("\"reason\": \"Bad sku.\"", "\"reason\": \"Bad SKU.\"")]
    [TestCase("\"Refunds are checked.\"", "\"Refunds are checked\"")]
    [TestCase("\"value\": 100 }", "\"value\": 100.0 }")]
    [TestCase("\"value\": false", "\"value\": true")]
    [TestCase("\"op\": \"gt\"", "\"op\": \"gte\"")]
    [TestCase("\\\\d+$", "\\\\d*$")]
    [TestCase("caller.user", "caller.agent")]
    [TestCase("http://x/role", "http://x/roles")]
    [TestCase("args.order.lines.0.sku", "args.order.lines.1.sku")]
    [TestCase("[\"a\", 1, true, null]", "[\"a\", 1, true]")]
    [TestCase("\"l?st_*\": {},", "")]
    [TestCase("\"get_*\": {},\n    \"put_*\": {},", "\"put_*\": {},\n    \"get_*\": {},")]
    [TestCase("\"drop_*\"", "\"dro?_*\"")]
    [TestCase("\"run_*\": \"execute\"", "\"run_*\": \"write\"")]
    [TestCase("\"action\": \"deny\", \"reason\": \"People delete.\"", "\"action\": \"deny\"")]
    [TestCase("\"read\": { \"action\": \"allow\" }", "\"write\": { \"action\": \"allow\" }")]
    [TestCase("{ \"counter\": \"all_calls\", \"window\": 60, \"max\": 120, \"scope\": \"global\" }", "{ \"counter\": \"all_calls2\", \"window\": 60, \"max\": 120, \"scope\": \"global\" }")]
    public void OneFieldChanged_ChangesTheDump(string from, string to)
    {
        EveryField.Should().Contain(from);
        var changed = EveryField.Replace(from, to, StringComparison.Ordinal);

        var before = CompiledPolicyDump.Of(PolicyDocument.Parse(EveryField).Compiled);
        var after = CompiledPolicyDump.Of(PolicyDocument.Parse(changed).Compiled);

        CompiledPolicyDump.FirstDifference(before, after).Should().NotBeNull();
    }

    [Test]
    public void ALimitWhoseCounterIsAnEqualObjectButNotThePolicysOwn_DumpsDifferently()
    {
        var own = PolicyDocument.Parse(EveryField).Compiled;
        var other = PolicyDocument.Parse(EveryField).Compiled;
        var mixed = new CompiledPolicy
        {
            Version = own.Version,
            DeclaredRevision = own.DeclaredRevision,
            Revision = own.Revision,
            DefaultAction = own.DefaultAction,
            Hide = own.Hide,
            Tools = own.Tools,
            RiskRules = own.RiskRules,
            Classify = own.Classify,
            AllToolsLimits = own.AllToolsLimits,
            // Equal definitions, other objects: stores key on the definition, the evaluator on the object.
            Counters = other.Counters,
        };
        other.Counters.Should().Equal(own.Counters);

        var difference = CompiledPolicyDump.FirstDifference(CompiledPolicyDump.Of(own), CompiledPolicyDump.Of(mixed));

        difference.Should().Contain("counter #1").And.Contain("NOT THE POLICY'S OWN refund_total");
    }

    [Test]
    public void Check_AFastReadEqualToTheFullRead_Passes()
    {
        var bytes = Encoding.UTF8.GetBytes(EveryField);

        var act = () => FastReadCrossCheck.Check(bytes, PolicyDocument.Parse(EveryField).Compiled);

        act.Should().NotThrow();
    }

    [Test]
    public void Check_AFastReadOfAnotherPolicy_FailsNamingTheFirstDifferingLineAndTheDocument()
    {
        var bytes = Encoding.UTF8.GetBytes(EveryField);
        var other = PolicyDocument.Parse(EveryField.Replace("\"max\": 50000", "\"max\": 50001", StringComparison.Ordinal)).Compiled;

        var act = () => FastReadCrossCheck.Check(bytes, other);

        act.Should().Throw<FastReaderDriftException>()
            .Which.Message.Should().Contain("built a different policy")
            .And.Contain("full read \"  [1] \"refund_total\" max 50000")
            .And.Contain("fast read \"  [1] \"refund_total\" max 50001")
            .And.Contain("\"revision\": \"2026-11-30.1\"");
    }

    [Test]
    public void Check_AFastReadOfADocumentTheFullReaderRejects_Fails()
    {
        var invalid = Encoding.UTF8.GetBytes(EveryField.Replace("\"max\": 50000", "\"max\": 0", StringComparison.Ordinal));

        var act = () => FastReadCrossCheck.Check(invalid, PolicyDocument.Parse(EveryField).Compiled);

        act.Should().Throw<FastReaderDriftException>().Which.Message.Should().Contain("accepted a document the full reader rejects")
            .And.Contain("positive whole number");
    }

    [Test]
    public void Check_AFastReadWithARuleThatDoesNotBuild_Fails()
    {
        var document = """{ "version": "1", "tools": { "t": { "action": "deny" } } }""";
        var read = PolicyDocument.Parse(document).Compiled;
        var rule = "{ \"action\": \"deny\", \"limits\": 7 }"u8.ToArray();
        var broken = new CompiledPolicy
        {
            Version = read.Version,
            Revision = read.Revision,
            DefaultAction = read.DefaultAction,
            Hide = read.Hide,
            // The rule's text as a fast read would keep it, but one its checks should have refused.
            Tools = new ToolRules(
                new NameMatcher<RuleSlot>([new KeyValuePair<string, RuleSlot>("t", new RuleSlot(null, 0, rule.Length))]),
                new RuleSource([rule], new PolicyCounters(), new Dictionary<string, ConditionPath>(StringComparer.Ordinal))),
            RiskRules = read.RiskRules,
            Classify = read.Classify,
            AllToolsLimits = read.AllToolsLimits,
            Counters = read.Counters,
        };

        var act = () => FastReadCrossCheck.Check(Encoding.UTF8.GetBytes(document), broken);

        act.Should().Throw<FastReaderDriftException>().Which.Message.Should().Contain("does not build whole");
    }

    [Test]
    public void Check_ShowsALongDocumentTruncated()
    {
        var tools = string.Join(",", Enumerable.Range(0, 500).Select(i => $"\"tool_{i}\": {{}}"));
        var json = $$"""{ "version": "1", "tools": { {{tools}} } }""";

        var act = () => FastReadCrossCheck.Check(Encoding.UTF8.GetBytes(json), PolicyDocument.Parse(EveryField).Compiled);

        act.Should().Throw<FastReaderDriftException>().Which.Message.Should().Contain($"its first 2000 of {json.Length} characters")
            .And.NotContain("tool_499");
    }

    [Test]
    public void TheWholeRun_ChecksEveryLoad()
    {
        PolicyDocument.FastReadObserver.Should().Be((Action<ReadOnlyMemory<byte>, CompiledPolicy?>)FastReadCrossCheck.Observe);
        var seen = FastReadCrossCheck.Accepted + FastReadCrossCheck.Declined;

        PolicyDocument.Parse("""{ "version": "1" }""");

        (FastReadCrossCheck.Accepted + FastReadCrossCheck.Declined).Should().BeGreaterThan(seen);
    }
}
