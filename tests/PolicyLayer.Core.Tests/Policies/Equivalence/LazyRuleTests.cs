using System.Text;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>
/// Rules made on first match (empty rules, and every rule the fast reader checked and kept as text): one rule per slot
/// however many calls race to make it, counting in the policy's own counters, and the same rule the full read builds.
/// </summary>
public sealed class LazyRuleTests
{
    public enum Reader
    {
        Full,
        Fast,
    }

    private const string Document = """
        {
          "version": "1",
          "tools": {
            "empty": {},
            "limited": {
              "deny_if": [ { "path": "args.env", "op": "in", "value": ["prod", "live"] } ],
              "require": [ { "conditions": [ { "path": "args.env", "op": "exists" } ], "on_deny": "Say where." } ],
              "limits": [ { "counter": "shared", "window": "minute", "max": 100 }, { "counter": "own", "window": "hour", "max": 5 } ],
              "rate_limit": { "max": 3, "window": 60 }
            },
            "glob_*": { "limits": [ { "counter": "own", "window": 3600, "max": 5 } ], "deny_if": [ { "path": "args.env", "op": "in", "value": ["prod", "live"] } ] }
          },
          "all_tools": { "limits": [ { "counter": "shared", "window": 60, "max": 100 } ] }
        }
        """;

    private const int Races = 200;

    [Test]
    public void TwoThreadsMatchingOneToolAtOnce_GetOneRule_AndKeepIt([Values] Reader reader, [Values("empty", "limited", "glob_x")] string tool)
    {
        for (var race = 0; race < Races; race++)
        {
            var tools = Load(reader).Tools;
            using var start = new Barrier(2);
            var rules = new CompiledRule?[2];
            var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                tools.TryMatch(tool, out var rule, out _).Should().BeTrue();
                rules[i] = rule;
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            rules[0].Should().NotBeNull().And.BeSameAs(rules[1], "race {0}", race);
            tools.TryMatch(tool, out var later, out _).Should().BeTrue();
            later.Should().BeSameAs(rules[0]);
        }
    }

    [Test]
    public void ARuleMadeOnFirstMatch_CountsInThePolicysOwnCounters([Values] Reader reader)
    {
        var policy = Load(reader);

        policy.Tools.TryMatch("limited", out var limited, out _).Should().BeTrue();
        policy.Tools.TryMatch("glob_x", out var glob, out _).Should().BeTrue();

        policy.Counters.Select(c => c.Name).Should().Equal("shared", "own", "/tools/limited/rate_limit");
        limited.Limits.Select(l => l.Counter).Should().HaveCount(3).And.OnlyContain(c => policy.Counters.Any(own => ReferenceEquals(own, c)));
        limited.Limits[0].Counter.Should().BeSameAs(policy.AllToolsLimits[0].Counter);
        limited.Limits[1].Counter.Should().BeSameAs(policy.Counters[1]);
        glob.Limits[0].Counter.Should().BeSameAs(policy.Counters[1]);
        limited.Limits[2].Counter.Should().BeSameAs(policy.Counters[2]);
    }

    [Test]
    public void ARuleMadeOnFirstMatch_IsTheRuleTheFullReadBuilds([Values] Reader reader, [Values("empty", "limited", "glob_x")] string tool)
    {
        var full = Load(Reader.Full);
        var policy = Load(reader);

        full.Tools.TryMatch(tool, out var expected, out var expectedKey).Should().BeTrue();
        policy.Tools.TryMatch(tool, out var rule, out var key).Should().BeTrue();

        key.Should().Be(expectedKey);
        CompiledPolicyDump.OfRule(rule, policy.Counters).Should().Be(CompiledPolicyDump.OfRule(expected, full.Counters));
    }

    private static CompiledPolicy Load(Reader reader)
    {
        var bytes = Encoding.UTF8.GetBytes(Document);
        if (reader == Reader.Fast)
        {
            return FastPolicyReader.TryRead(bytes) ?? throw new AssertionException("The fast reader declined a plain document it should read.");
        }

        var errors = new PolicyErrorList();
        return PolicyDocument.CompileFull(bytes, ref errors) ?? throw new AssertionException("The full reader rejected the document: " + errors.Errors[0].Message);
    }
}
