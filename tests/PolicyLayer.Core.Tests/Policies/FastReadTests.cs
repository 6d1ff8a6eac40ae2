using System.Text;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>
/// The fast read of a valid document (one Utf8JsonReader pass, rules kept as checked text and built on first match):
/// what it accepts, what it leaves to the full read, and what a rule built later is.
/// </summary>
public sealed class FastReadTests
{
    private const string Policy = """
        {
          "version": "1",
          "default": "deny",
          "tools": {
            "read_*": {},
            "refund": {
              "deny_if": [ { "path": "args.amount", "op": "gt", "value": 100, "reason": "Too much." } ],
              "limits": [ { "counter": "refunds", "window": "hour", "max": 3 } ],
              "rate_limit": { "max": 2, "window": "1m" }
            },
            "charge": { "limits": [ { "counter": "refunds", "window": "hour", "max": 3 } ] }
          }
        }
        """;

    [Test]
    public void AValidPolicy_IsReadFast_WithItsRulesKeptAsText_UntilACallMatchesThem()
    {
        var compiled = FastPolicyReader.TryRead(Encoding.UTF8.GetBytes(Policy));

        compiled.Should().NotBeNull();
        compiled!.Counters.Select(c => c.Name).Should().Equal("refunds", "/tools/refund/rate_limit");
        compiled.Tools.TryMatch("refund", out var refund, out var key).Should().BeTrue();
        key.Should().Be("refund");
        refund.DenyIf.Should().ContainSingle().Which.Reason.Should().Be("Too much.");
        refund.Limits.Select(l => l.Counter).Should().Equal(compiled.Counters, (a, b) => ReferenceEquals(a, b), "a rule built later counts in the policy's own counters");
        compiled.Tools.TryMatch("charge", out var charge, out _).Should().BeTrue();
        charge.Limits[0].Counter.Should().BeSameAs(refund.Limits[0].Counter);
    }

    [Test]
    public void ARuleBuiltOnFirstMatch_IsKept_AndEveryLaterMatchGetsTheSameOne()
    {
        var compiled = FastPolicyReader.TryRead(Encoding.UTF8.GetBytes(Policy))!;

        var rules = new CompiledRule[8];
        Parallel.For(0, rules.Length, i => compiled.Tools.TryMatch("refund", out rules[i], out _));

        rules.Should().AllSatisfy(rule => rule.Should().BeSameAs(rules[0]));
        compiled.Tools.TryMatch("read_file", out var glob, out var key).Should().BeTrue();
        key.Should().Be("read_*");
        glob.Action.Should().Be(PolicyAction.Allow);
    }

    [TestCase("""{ "version": "1", "tools": { "a": { "limts": [] } } }""", TestName = "An unknown field")]
    [TestCase("""{ "version": "1", "tools": { "a": { "action": "deny", "limits": [ { "counter": "c", "window": "minute", "max": 1 } ] } } }""", TestName = "Deny with limits")]
    [TestCase("""{ "version": "1", "tools": { "a": { "deny_if": [ { "path": "args.x", "op": "eq", "value": { "k": 1, "k": 2 } } ] } } }""", TestName = "An object value (its keys are the full read's to check)")]
    [TestCase("""{ "version": "1", "tools": { "a": { "action": "deny" }, "a": {} } }""", TestName = "A tool written twice")]
    [TestCase("""{ "version": "1", "tools": { "\u0061": {}, "b": { "act\u0069on": "deny" } } }""", TestName = "A field spelled with an escape")]
    [TestCase("""{ "version": "1", "tools": { "a": { "limits": [ { "counter": "c", "window": "minute", "max": 1 } ] }, "b": { "limits": [ { "counter": "c", "window": "hour", "max": 1 } ] } } }""", TestName = "A counter defined two ways")]
    [TestCase("""{ "version": "1", "tools": {} } trailing""", TestName = "Text after the document")]
    [TestCase("""{"version":"1","tools":{"t":{"deny_if":[{"path":"args.x","op":"regex","value":"(?>a+)b"}]}},"all_tools":{}}""", TestName = "A regex that needs backtracking, tools read after the root (before all_tools)")]
    [TestCase("""{"version":"1","tools":{"t":{"deny_if":[{"path":"args.x","op":"in","value":[{"a":1,"a":2}]}]}},"all_tools":{}}""", TestName = "A key twice in a value, tools read after the root (before all_tools)")]
    public void ADocumentTheFastReadDoesNotAcceptAsValid_IsLeftToTheFullRead(string json)
    {
        FastPolicyReader.TryRead(Encoding.UTF8.GetBytes(json)).Should().BeNull();
    }

    [Test]
    public void ToolsWrittenBeforeAllTools_AreReadAfterIt_WithTheirOwnOffsets()
    {
        // all_tools' counters come first and every rule's limits are checked against them, so tools written before
        // all_tools are read from their own text once the root is read: a regex there is read from its own place.
        const string json = """
            {"version":"1","tools":{"t":{"deny_if":[{"op":"regex","path":"args.x","value":"[^/]+/[^/]+"}],"limits":[{"counter":"c","window":"minute","max":5}]}},
             "all_tools":{"limits":[{"counter":"all","window":"hour","max":100}]}}
            """;

        var compiled = FastPolicyReader.TryRead(Encoding.UTF8.GetBytes(json));

        compiled.Should().NotBeNull();
        compiled!.Counters.Select(c => c.Name).Should().Equal("all", "c");
        compiled.Tools.TryMatch("t", out var rule, out _).Should().BeTrue();
        rule.DenyIf[0].Conditions[0].Regex!.ToString().Should().Be("[^/]+/[^/]+");
    }

    [Test]
    public void ManyRules_AreKeptInChunksBelowTheLargeObjectThreshold_AndEachBuildsFromItsOwnPlace()
    {
        // 2,000 rules of about 150 bytes: several chunks, and one rule longer than a chunk between them.
        var longList = string.Join(", ", Enumerable.Range(0, 20_000));
        var tools = Enumerable.Range(0, 2000).Select(i => i == 1000
            ? $"\"t{i}\": {{ \"deny_if\": [ {{ \"path\": \"args.x\", \"op\": \"in\", \"value\": [ {longList} ] }} ] }}"
            : $"\"t{i}\": {{ \"deny_if\": [ {{ \"path\": \"args.n\", \"op\": \"eq\", \"value\": {i} }} ], \"limits\": [ {{ \"counter\": \"c{i}\", \"window\": \"minute\", \"max\": {i + 1} }} ] }}");
        var json = "{ \"version\": \"1\", \"tools\": { " + string.Join(",\n", tools) + " } }";

        var compiled = FastPolicyReader.TryRead(Encoding.UTF8.GetBytes(json));

        compiled.Should().NotBeNull();
        var chunks = compiled!.Tools.Source!.ChunkLengths.ToList();
        chunks.Should().HaveCountGreaterThan(3);
        chunks.Where(length => length > Chunking.SmallChunkBytes).Should().ContainSingle("only the long rule has a chunk of its own")
            .Which.Should().BeGreaterThan(100_000);
        Chunking.SmallChunkBytes.Should().BeLessThan(85_000, "the runtime puts arrays of 85,000 bytes or more on the large object heap");
        foreach (var i in new[] { 0, 1, 437, 999, 1001, 1999 })
        {
            compiled!.Tools.TryMatch($"t{i}", out var rule, out _).Should().BeTrue();
            rule.DenyIf[0].Conditions[0].Value.GetInt32().Should().Be(i);
            rule.Limits[0].Counter.Max.Should().Be(i + 1);
        }

        compiled!.Tools.TryMatch("t1000", out var longRule, out _).Should().BeTrue();
        longRule.DenyIf[0].Conditions[0].Value.GetArrayLength().Should().Be(20_000);
    }

    [Test]
    public void ANameMatcherOfManyKeys_KeepsNoArrayOnTheLargeObjectHeap_AndFindsEveryKey()
    {
        // 8,000 exact names and 8,000 globs (no table past Chunking.LargeTableBytes), and one name longer than a chunk of characters.
        var longName = "long_" + new string('x', 40_000);
        var entries = Enumerable.Range(0, 8_000)
            .SelectMany(i => new[] { new KeyValuePair<string, int>($"tool_{i:D6}", i), new KeyValuePair<string, int>($"family_{i:D6}_*", -i) })
            .Append(new KeyValuePair<string, int>(longName, 7))
            .ToArray();

        var matcher = new NameMatcher<int>(entries);

        matcher.ArrayBytes.Should().HaveCountGreaterThan(10).And.OnlyContain(bytes => bytes < 85_000, "an array of 85,000 bytes or more is a large object");
        matcher.Count.Should().Be(entries.Length);
        foreach (var i in new[] { 0, 1, 4_999, 7_999 })
        {
            matcher.TryMatch($"tool_{i:D6}", out var exact, out _).Should().BeTrue();
            exact.Should().Be(i);
            matcher.TryMatch($"family_{i:D6}_anything", out var glob, out var key).Should().BeTrue();
            (glob, key).Should().Be((-i, $"family_{i:D6}_*"));
        }

        matcher.TryMatch(longName, out var longValue, out _).Should().BeTrue();
        longValue.Should().Be(7);
        matcher.TryMatch("tool_008000", out _, out _).Should().BeFalse();
        matcher.Entries.Should().HaveCount(entries.Length);
    }

    [Test]
    public void ARuleWhoseTextDoesNotBuild_RefusesTheCall_NamingTheRule()
    {
        // A defect of the fast read would look like this: text that passed at load and does not build. The call fails
        // (the evaluator turns the exception into a refusal), never an allowed call.
        var counters = new PolicyCounters();
        var text = Encoding.UTF8.GetBytes("""{ "action": 5 }""");
        var builder = new NameMatcher<RuleSlot>.Builder(1, 8);
        builder.Add("bad_tool", new RuleSlot(null, 0, text.Length));
        var tools = new ToolRules(new NameMatcher<RuleSlot>(builder), new RuleSource([text], counters, new(StringComparer.Ordinal)));

        var match = () => tools.TryMatch("bad_tool", out _, out _);

        match.Should().Throw<InvalidOperationException>().WithMessage("*/tools/bad_tool*does not build*Unknown action*");
    }
}
