using System.Text;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>
/// A policy's counters are kept as plain data while it loads and made <see cref="CounterDefinition"/>s on first use:
/// numbered in the order they were defined, found by name, one definition per counter however many threads ask.
/// </summary>
public sealed class PolicyCountersTests
{
    [Test]
    public void Counters_AreNumberedInTheOrderDefined_AndFoundByName_PastTheSizeExpected()
    {
        // Expected 4, given 5,000: the index and the entries grow, names fill several chunks.
        var counters = new PolicyCounters(expected: 4);
        for (var i = 0; i < 5_000; i++)
        {
            counters.GetOrAdd($"counter_{i}", i + 1, TimeSpan.FromSeconds(i + 1), (CounterScope)(i % 5), i % 7 == 0 ? $"args.n{i}" : null, out var added)
                .Should().Be(i);
            added.Should().BeTrue();
        }

        counters.Count.Should().Be(5_000);
        for (var i = 0; i < 5_000; i += 37)
        {
            counters.IndexOf($"counter_{i}").Should().Be(i);
            var definition = counters[i];
            definition.Should().Be(new CounterDefinition($"counter_{i}", i + 1, TimeSpan.FromSeconds(i + 1), (CounterScope)(i % 5)) { IncrementFrom = i % 7 == 0 ? $"args.n{i}" : null });
            definition.Ordinal.Should().Be(i);
        }

        counters.IndexOf("counter_5000").Should().Be(-1);
        counters.IndexOf("counter_").Should().Be(-1);
        counters.Select(c => c.Name).Should().Equal(Enumerable.Range(0, 5_000).Select(i => $"counter_{i}"));
    }

    [Test]
    public void AnEstimateOfMillions_SizesTheIndexForAtMost32768Counters_AndTheIndexGrowsPastIt()
    {
        // The estimate counts "counter" words in the text: a document can repeat them without defining a counter.
        var counters = new PolicyCounters(expected: 4_000_000);

        counters.SlotCount.Should().Be(65_536);
        for (var i = 0; i < 40_000; i++)
        {
            counters.GetOrAdd("c" + i, 1, TimeSpan.FromSeconds(1), CounterScope.Grant, null, out _);
        }

        counters.SlotCount.Should().Be(131_072, "at most half full");
        counters.IndexOf("c39999").Should().Be(39_999);
        counters.IndexOf("c0").Should().Be(0);
    }

    [Test]
    public void ACounterNamedAgain_IsTheOneDefinedFirst_WhateverBudgetIsGiven()
    {
        var counters = new PolicyCounters();
        counters.GetOrAdd("refunds", 3, TimeSpan.FromHours(1), CounterScope.Grant, null, out _);

        counters.GetOrAdd("refunds", 9, TimeSpan.FromMinutes(1), CounterScope.Global, "args.amount", out var added).Should().Be(0);

        added.Should().BeFalse();
        counters.Count.Should().Be(1);
        counters.HasBudget(0, 3, TimeSpan.FromHours(1), CounterScope.Grant).Should().BeTrue();
        counters.HasBudget(0, 9, TimeSpan.FromMinutes(1), CounterScope.Global).Should().BeFalse();
        counters.BudgetOf(0).Should().Be((3L, TimeSpan.FromHours(1), CounterScope.Grant));
        counters[0].IncrementFrom.Should().BeNull();
    }

    [Test]
    public void ADefinition_IsMadeOnce_AndSharedByEveryThreadThatAsks()
    {
        var counters = new PolicyCounters(2_000);
        for (var i = 0; i < 2_000; i++)
        {
            counters.GetOrAdd("c" + i, 1, TimeSpan.FromMinutes(1), CounterScope.Grant, null, out _);
        }

        var seen = new CounterDefinition[4][];
        Parallel.For(0, 4, t =>
        {
            seen[t] = new CounterDefinition[2_000];
            for (var i = 0; i < 2_000; i++)
            {
                // Each thread walks the counters from another end.
                var ordinal = t % 2 == 0 ? i : 1_999 - i;
                seen[t][ordinal] = counters[ordinal];
            }
        });

        for (var i = 0; i < 2_000; i++)
        {
            seen.Select(s => s[i]).Should().AllSatisfy(d => d.Should().BeSameAs(counters[i]));
        }
    }

    [Test]
    public void ADefinitionMadeWhileTheTableGrows_IsStillTheOneReturned()
    {
        // The full read makes each definition as it defines it, so a chunk of definitions may exist before its entries grow.
        var counters = new PolicyCounters();
        var first = new List<CounterDefinition>();
        for (var i = 0; i < 3_000; i++)
        {
            var ordinal = counters.GetOrAdd("n" + i, 2, TimeSpan.FromSeconds(10), CounterScope.User, null, out _);
            first.Add(counters[ordinal]);
        }

        Enumerable.Range(0, 3_000).Select(i => counters[i]).Should().Equal(first, ReferenceEquals);
    }

    [Test]
    public void ANameLongerThanAChunk_IsKeptWhole_AndTheNamesAroundItToo()
    {
        var counters = new PolicyCounters();
        var longName = new string('x', 40_000) + "end";
        counters.GetOrAdd("before", 1, TimeSpan.FromSeconds(1), CounterScope.Grant, null, out _);
        counters.GetOrAdd(longName, 1, TimeSpan.FromSeconds(1), CounterScope.Grant, null, out _);
        counters.GetOrAdd("after", 1, TimeSpan.FromSeconds(1), CounterScope.Grant, null, out _);

        counters.Select(c => c.Name).Should().Equal("before", longName, "after");
        counters.IndexOf(longName).Should().Be(1);
        counters.IndexOf("after").Should().Be(2);
    }

    [Test]
    public void AnOrdinalPastTheEnd_IsRefused()
    {
        var counters = new PolicyCounters();
        counters.GetOrAdd("one", 1, TimeSpan.FromSeconds(1), CounterScope.Grant, null, out _);

        var read = () => counters[1];

        read.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void ALoadedPolicy_MakesNoDefinitionUntilOneIsAskedFor_AndItsRulesShareThem()
    {
        var json = new StringBuilder("{ \"version\": \"1\", \"tools\": {");
        for (var i = 0; i < 300; i++)
        {
            json.Append(i == 0 ? "" : ",").Append($"\"t{i}\": {{ \"limits\": [ {{ \"counter\": \"c{i % 100}\", \"window\": \"minute\", \"max\": 5 }} ] }}");
        }

        // The fast read itself: every load in these tests is also held to the full read, which asks for every definition.
        var compiled = FastPolicyReader.TryRead(Encoding.UTF8.GetBytes(json.Append("} }").ToString()))!;

        compiled.Counters.Count.Should().Be(100);
        compiled.Counters.MadeCount.Should().Be(0, "nothing asked for a definition yet");
        compiled.Tools.TryMatch("t150", out var rule, out _).Should().BeTrue();
        compiled.Counters.MadeCount.Should().Be(1);
        rule.Limits[0].Counter.Should().BeSameAs(compiled.Counters[50]);
        compiled.Counters[50].Name.Should().Be("c50");
    }
}
