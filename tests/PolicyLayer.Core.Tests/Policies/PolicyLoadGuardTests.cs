using System.Text.Json;
using CsCheck;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>
/// What loading with little garbage must keep exactly: limits keep only their pointer (the path an error names is made
/// from it), names and condition paths are shared between rules, keywords are matched without strings, condition texts
/// are written in one go, and globs of equal specificity keep document order.
/// </summary>
public sealed class PolicyLoadGuardTests
{
    [Test]
    public void CounterErrors_InToolsWhoseNamesHoldSlashTildeDotAndQuote_NameBothLimitsFullPaths()
    {
        const string json = """
            {
              "version": "1",
              "tools": {
                "a/b~c.d": { "limits": [ { "counter": "c", "window": "minute", "max": 10 }, { "counter": "c", "window": "minute", "max": 10, "increment_from": "args.n" } ] },
                "it's~1": { "limits": [ { "counter": "e", "window": "minute", "max": 1 }, { "counter": "c", "window": "hour", "max": 10 } ] }
              }
            }
            """;

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Select(e => $"{e.Path}: {e.Message}").Should().Equal(
            "$.tools['a/b~c.d'].limits[1]: Counter 'c' is also counted by /tools/a~1b~0c.d/limits/0 (adding 1 per call), and one call counts a counter once: "
            + "here it is adding args.n. Give each amount a counter of its own, or use the same increment_from.",
            "$.tools['it\\'s~1'].limits[1]: Counter 'c' is defined two ways: here 10 per 1 h per grant, at $.tools['a/b~c.d'].limits[0] 10 per 1 min per grant. "
            + "A counter has one window, max and scope wherever it is named.");
    }

    [Test]
    public void CounterDefinedTwoWays_AfterMoreCountersThanTheDocumentHasTools_NamesWhereItWasFirstDefined()
    {
        // One tool with 70 counters: more than the reader sized its tables for, so they grow while it reads.
        var limits = string.Join(", ", Enumerable.Range(0, 70).Select(i => $$"""{ "counter": "c{{i}}", "window": "minute", "max": 1 }"""));
        var json = $$"""{ "version": "1", "tools": { "t": { "limits": [ {{limits}}, { "counter": "c40", "window": "hour", "max": 1 } ] } } }""";

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle()
            .Which.Message.Should().Contain("Counter 'c40' is defined two ways: here 1 per 1 h per grant, at $.tools.t.limits[40] 1 per 1 min per grant.");
    }

    [Test]
    public void LimitPath_FromAPointer_IsThePathTheReaderGivesThatLimit()
    {
        PolicyReaderV1.LimitPath("/all_tools/limits/3").ToString().Should().Be("$.all_tools.limits[3]");
        PolicyReaderV1.LimitPath("/tools/rate_limit/rate_limit").ToString().Should().Be("$.tools.rate_limit.rate_limit");
        PolicyReaderV1.LimitPath("/tools/7/limits/12").ToString().Should().Be("$.tools.7.limits[12]");
        PolicyReaderV1.LimitPath("/tools/~01/limits/0").ToString().Should().Be("$.tools['~1'].limits[0]");
        PolicyReaderV1.LimitPath("/risk/read/limits/0").ToString().Should().Be("$.risk.read.limits[0]");
    }

    [Test]
    public void ConditionPaths_AndCounterNames_NamedByManyRules_AreOneObjectEach()
    {
        var policy = PolicyDocument.Parse("""
            {
              "version": "1",
              "all_tools": { "limits": [ { "counter": "spend", "window": "day", "max": 100, "increment_from": "args.amount" } ] },
              "tools": {
                "a": { "deny_if": [ { "path": "args.amount", "op": "gt", "value": 5 } ], "limits": [ { "counter": "shared", "window": "minute", "max": 3 } ] },
                "b": { "require": [ { "path": "args.amount", "op": "exists" } ], "limits": [ { "counter": "shared", "window": "minute", "max": 3 } ] }
              }
            }
            """);

        var a = Rule(policy, "a");
        var b = Rule(policy, "b");
        a.DenyIf[0].Conditions[0].Path.Should().BeSameAs(b.Require[0].Conditions[0].Path);
        a.DenyIf[0].Conditions[0].Path.Argument.Should().BeSameAs(policy.Compiled.AllToolsLimits[0].IncrementFrom);
        a.Limits[0].Counter.Should().BeSameAs(b.Limits[0].Counter);
        policy.Counters.Select(c => c.Name).Should().Equal("spend", "shared");
        a.DenyIf[0].Conditions[0].Text.Should().Be("args.amount gt 5");
    }

    [Test]
    public void InvalidPaths_RepeatedInSeveralRules_AreReportedAtEachOne_EvenAfterTheSameTextReadAsACondition()
    {
        const string json = """
            {
              "version": "1",
              "tools": {
                "a": { "deny_if": [ { "path": "args.x..y", "op": "exists" }, { "path": "caller.grant", "op": "eq", "value": "g" } ] },
                "b": { "deny_if": [ { "path": "args.x..y", "op": "exists" } ], "limits": [ { "counter": "c", "window": "minute", "max": 1, "increment_from": "caller.grant" } ] }
              }
            }
            """;

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Select(e => e.Path).Should().Equal(
            "$.tools.a.deny_if[0].path", "$.tools.b.deny_if[0].path", "$.tools.b.limits[0].increment_from");
    }

    [Test]
    public void Keywords_AndCounterNames_WrittenWithEscapes_MeanWhatTheyUnescapeTo()
    {
        var policy = PolicyDocument.Parse("""
            {
              "version": "1",
              "default": "\u0061llow",
              "tools": {
                "a": { "action": "require_\u0061pproval", "deny_if": [ { "path": "args.\u0078", "op": "\u0065q", "value": 1 } ],
                       "limits": [ { "counter": "c\u0061", "window": "\u006dinute", "max": 2, "scope": "\u0067lobal" } ] },
                "b": { "limits": [ { "counter": "ca", "window": "minute", "max": 2, "scope": "global" } ] }
              },
              "classify": { "a": "fin\u0061ncial" }
            }
            """);

        policy.Default.Should().Be(PolicyAction.Allow);
        Rule(policy, "a").Action.Should().Be(PolicyAction.RequireApproval);
        Rule(policy, "a").DenyIf[0].Conditions[0].Text.Should().Be("args.x eq 1");
        Rule(policy, "a").Limits[0].Counter.Should().BeSameAs(Rule(policy, "b").Limits[0].Counter);
        policy.Counters.Should().ContainSingle().Which.Should().Match<CounterDefinition>(c => c.Name == "ca" && c.Scope == CounterScope.Global && c.Window == TimeSpan.FromMinutes(1));
        policy.Compiled.Classify.TryMatch("a", out var entry, out _).Should().BeTrue();
        entry.Category.Should().Be(RiskCategory.Financial);
    }

    [Test]
    public void FieldNames_WrittenWithEscapes_AreKnown_AndAnUnknownOneIsNamedUnescaped()
    {
        PolicyDocument.Parse("""{ "version": "1", "tools": { "a": { "\u0061ction": "deny" } } }""").Compiled.Tools.TryMatch("a", out var rule, out _).Should().BeTrue();
        rule.Action.Should().Be(PolicyAction.Deny);

        var act = () => PolicyDocument.Parse("""{ "version": "1", "tools": { "a": { "limit\u0073x": [] } } }""");

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle()
            .Which.Message.Should().StartWith("Unknown field 'limitsx' (did you mean 'limits'?).");
    }

    [Test]
    public void ConditionText_KeepsTheValueAsWritten_SpacingNumbersEscapesAndNonAscii()
    {
        var policy = PolicyDocument.Parse("""
            { "version": "1", "tools": { "a": { "deny_if": [
              { "path": "args.x", "op": "in", "value": [ 1.50,  "café", "\u00e9\n" ] },
              { "path": "args.y", "op": "eq", "value": "日本" },
              { "path": "args.z", "op": "gte", "value": 1e3 }
            ] } } }
            """);

        Rule(policy, "a").DenyIf.Select(p => p.Text).Should().Equal(
            """args.x in [ 1.50,  "café", "\u00e9\n" ]""",
            """args.y eq "日本" """.TrimEnd(),
            "args.z gte 1e3");
    }

    [Test]
    public void ConditionValues_OutliveTheLoad_WhenItsPooledBytesAreReusedByTheNextLoad()
    {
        static string Policy(string secret) => $$"""
            { "version": "1", "tools": { "t": { "deny_if": [
              { "path": "args.a", "op": "eq", "value": "{{secret}}" },
              { "path": "args.b", "op": "in", "value": [ { "k": "{{secret}}" }, 2 ] },
              { "path": "args.c", "op": "exists", "value": false },
              { "path": "args.d", "op": "regex", "value": "^{{secret}}$" }
            ] } } }
            """;

        var first = PolicyDocument.Parse(Policy("aaaa"));
        for (var i = 0; i < 20; i++)
        {
            _ = PolicyDocument.Parse(Policy("zzzz"));
        }

        var conditions = Rule(first, "t").DenyIf.Select(p => p.Conditions[0]).ToArray();
        conditions[0].Value.GetString().Should().Be("aaaa");
        conditions[1].Value[0].GetProperty("k").GetString().Should().Be("aaaa");
        conditions[1].Value[1].GetInt32().Should().Be(2);
        conditions[2].Value.GetBoolean().Should().BeFalse();
        conditions[3].Value.GetString().Should().Be("^aaaa$");
        conditions.Select(c => c.Text).Should().Equal(
            "args.a eq \"aaaa\"", "args.b in [ { \"k\": \"aaaa\" }, 2 ]", "args.c does not exist", "args.d regex ^aaaa$");
    }

    [Test]
    public void ConditionValues_WrittenAlikeByManyRules_AreOneCopy_AndDifferentOnesStayApart()
    {
        var policy = PolicyDocument.Parse("""
            { "version": "1", "tools": {
              "a": { "deny_if": [ { "path": "args.env", "op": "in", "value": ["prod", "live"] } ] },
              "b": { "deny_if": [ { "path": "args.env", "op": "in", "value": ["prod", "test"] } ] },
              "c": { "deny_if": [ { "path": "args.env", "op": "in", "value": ["prod", "live"] } ] },
              "d": { "deny_if": [ { "path": "args.env", "op": "in", "value": ["prod",  "live"] } ] },
              "e": { "deny_if": [ { "path": "args.n", "op": "eq", "value": 2 }, { "path": "args.m", "op": "eq", "value": 2 } ] }
            } }
            """);

        JsonElement Value(string tool, int at = 0) => Rule(policy, tool).DenyIf[at].Conditions[0].Value;
        static bool SameCopy(JsonElement x, JsonElement y) => System.Runtime.CompilerServices.Unsafe.AreSame(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(x)),
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(y)));

        SameCopy(Value("a"), Value("c")).Should().BeTrue("the same text is copied once");
        SameCopy(Value("e", 0), Value("e", 1)).Should().BeTrue();
        SameCopy(Value("a"), Value("b")).Should().BeFalse();
        Value("a").EnumerateArray().Select(v => v.GetString()).Should().Equal("prod", "live");
        Value("b").EnumerateArray().Select(v => v.GetString()).Should().Equal("prod", "test");
        Value("c").EnumerateArray().Select(v => v.GetString()).Should().Equal("prod", "live");
        Value("d").EnumerateArray().Select(v => v.GetString()).Should().Equal("prod", "live");
        Value("e", 1).GetInt32().Should().Be(2);
    }

    [Test]
    public void Fields_ReadInOnePass_SpelledWithEscapes_AreTheFieldsTheyName()
    {
        var policy = PolicyDocument.Parse("""
            { "version": "1", "tools": { "t": {
              "\u0061ction": "require_approval",
              "deny_if": [ { "p\u0061th": "args.n", "op": "gt", "v\u0061lue": 5 } ],
              "limits": [ { "counter": "c", "w\u0069ndow": "hour", "m\u0061x": 7, "sc\u006fpe": "user" } ]
            } } }
            """);

        var rule = Rule(policy, "t");
        rule.Action.Should().Be(PolicyAction.RequireApproval);
        rule.DenyIf[0].Conditions[0].Text.Should().Be("args.n gt 5");
        rule.Limits[0].Counter.Should().Match<CounterDefinition>(c => c.Max == 7 && c.Window == TimeSpan.FromHours(1) && c.Scope == CounterScope.User);
    }

    [Test]
    public void Fields_ReadInOnePass_UnknownOnesAreEachReported_AndTheKnownOnesStillRead()
    {
        var act = () => PolicyDocument.Parse("""
            { "version": "1", "tools": { "t": {
              "limits": [ { "countr": "c", "window": "fortnight", "max": 7, "maxx": 8 } ]
            } } }
            """);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Select(e => $"{e.Path}: {e.Message}").Should().Equal(
            "$.tools.t.limits[0]: Missing \"counter\": the name of the counter this limit counts in.",
            "$.tools.t.limits[0].countr: Unknown field 'countr' (did you mean 'counter'?). Expected one of: counter, increment_from, max, scope, window.",
            "$.tools.t.limits[0].window: Unknown window the string \"fortnight\". Expected second, minute, hour, day, a whole number of seconds, or a duration such as \"90s\", \"5m\", \"1h\", \"1d\" (at most 366 days).",
            "$.tools.t.limits[0].maxx: Unknown field 'maxx' (did you mean 'max'?). Expected one of: counter, increment_from, max, scope, window.");
    }

    [Test]
    public void GlobsOfEqualSpecificity_ThatAllMatch_TheFirstInDocumentOrderWins()
    {
        // Same wildcard count and length: only document order tells them apart, whatever the sort does with equals.
        var patterns = Gen.Select(Gen.Char["ab"].Array[3], Gen.Int[0, 3]).Select((chars, at) => new string(chars).Insert(at, "*"));
        Gen.Select(patterns.Array[2, 60], Gen.Char["ab"].Array[3, 8].Select(c => new string(c)).Array[1, 20]).Sample((list, names) =>
        {
            var distinct = list.Distinct().ToArray();
            var matcher = new NameMatcher<int>(distinct.Select((p, i) => new KeyValuePair<string, int>(p, i)));
            foreach (var name in names)
            {
                var expected = Array.FindIndex(distinct, p => new GlobPattern(p).IsMatch(name));
                var found = matcher.TryMatch(name, out var index, out _) ? index : -1;
                if (found != expected)
                {
                    throw new InvalidOperationException($"'{name}': chose #{found}, the first in document order is #{expected}, among [{string.Join(", ", distinct)}]");
                }
            }
        }, iter: 1_000);
    }

    [Test]
    public void EmptyRules_AreMadeWhenFirstMatched_AllowingWithTheirKeysPointer_AndKeptForLaterCalls()
    {
        var policy = PolicyDocument.Parse("""{ "version": "1", "tools": { "a/b~c": {}, "fam_*": {}, "other": { "reason": "r" }, "\u0065sc_*": {} } }""");

        var exact = Rule(policy, "a/b~c");
        var glob = Rule(policy, "fam_x");

        exact.Pointer.Should().Be("/tools/a~1b~0c");
        exact.AllowedReason.Should().Be("Allowed by /tools/a~1b~0c.");
        glob.Pointer.Should().Be("/tools/fam_*");
        foreach (var rule in new[] { exact, glob })
        {
            rule.Action.Should().Be(PolicyAction.Allow);
            rule.Reason.Should().BeNull();
            rule.Require.Should().BeEmpty();
            rule.DenyIf.Should().BeEmpty();
            rule.RequireApprovalIf.Should().BeEmpty();
            rule.Limits.Should().BeEmpty();
        }

        // Made once: a later call (another name under the same glob too) gets the same rule, so its reason is not made again.
        Rule(policy, "a/b~c").Should().BeSameAs(exact);
        Rule(policy, "fam_y").Should().BeSameAs(glob);
        policy.Compiled.Tools.MatchAll("fam_x").Select(m => (m.Key, m.Value.Pointer)).Should().Equal([("fam_*", "/tools/fam_*")]);
        policy.Compiled.RuleCount.Should().Be(4);
        Rule(policy, "esc_1").Pointer.Should().Be("/tools/esc_*");
        policy.Compiled.Tools.TryMatch("fam", out _, out _).Should().BeFalse();

        // A glob's text lives in the matcher's one array of key characters: its string is made once, when a match names it.
        policy.Compiled.Tools.TryMatch("fam_q", out _, out var key).Should().BeTrue();
        key.Should().Be("fam_*");
        policy.Compiled.Tools.TryMatch("fam_r", out _, out var again).Should().BeTrue();
        again.Should().BeSameAs(key);
    }

    [Test]
    public void ToolNames_ReadAsCharactersOrAsStrings_AreFoundExactly_WithTheirPointers_AndADuplicateSpelledTwoWaysIsAnError()
    {
        // Names written plainly (read straight into the name table) or with escapes (read as strings), non-ASCII and
        // surrogate pairs included, some with a non-empty rule: each is found under its own text and no other.
        var piece = Gen.OneOf(Gen.Char["ab/~ é中_"].Select(c => c.ToString()), Gen.Const("😀"), Gen.Const("\\u0062"), Gen.Const("\\u00e9"), Gen.Const("\\\\"), Gen.Const("\\/"));
        var spelled = piece.Array[1, 6].Select(parts => string.Concat(parts));
        Gen.Select(spelled.Array[1, 40], Gen.Bool.Array[40]).Sample((spellings, withReason) =>
        {
            var names = spellings.Select(Unescape).ToArray();
            var kept = Enumerable.Range(0, names.Length).Where(i => !string.IsNullOrWhiteSpace(names[i]) && Array.IndexOf(names, names[i]) == i).ToArray();
            var json = "{ \"version\": \"1\", \"tools\": { " + string.Join(", ", kept.Select(i => $"\"{spellings[i]}\": {(withReason[i] ? "{ \"reason\": \"r\" }" : "{}")}")) + " } }";
            var policy = PolicyDocument.Parse(json);
            foreach (var i in kept)
            {
                var rule = Rule(policy, names[i]);
                rule.Pointer.Should().Be("/tools/" + PolicyReaderV1.EscapePointer(names[i]));
                rule.Reason.Should().Be(withReason[i] ? "r" : null);
                policy.Compiled.Tools.TryMatch(names[i] + "x", out _, out _).Should().Be(kept.Any(k => names[k] == names[i] + "x"));
            }

            policy.Compiled.RuleCount.Should().Be(kept.Length);
            if (kept.Length > 0)
            {
                // The first name again, spelled with every character escaped: the same key twice.
                var again = string.Concat(names[kept[0]].Select(c => $"\\u{(int)c:x4}"));
                var twice = json[..^" } }".Length] + $", \"{again}\": {{}} }} }}";
                FluentActions.Invoking(() => PolicyDocument.Parse(twice)).Should().Throw<PolicyValidationException>()
                    .Which.Errors.Should().ContainSingle().Which.Message.Should().StartWith("Duplicate key");
            }
        }, iter: 300);

        static string Unescape(string spelled) => JsonDocument.Parse($"\"{spelled}\"").RootElement.GetString()!;
    }

    [Test]
    public void NameMatcherBuilder_PastTheSizeItWasGiven_GrowsAndKeepsEveryKey()
    {
        var builder = new NameMatcher<int>.Builder(keys: 1, chars: 1);
        for (var i = 0; i < 300; i++)
        {
            if (i % 3 == 0)
            {
                builder.Add($"g{i}_*", i);
            }
            else
            {
                var text = $"name_{i}";
                text.CopyTo(builder.Reserve(text.Length + 5));
                builder.Add(text.Length, i);
            }
        }

        var matcher = new NameMatcher<int>(builder);

        matcher.Count.Should().Be(300);
        matcher.DuplicateKey.Should().BeNull();
        for (var i = 0; i < 300; i++)
        {
            matcher.TryMatch(i % 3 == 0 ? $"g{i}_x" : $"name_{i}", out var value, out var key).Should().BeTrue();
            (value, key).Should().Be((i, i % 3 == 0 ? $"g{i}_*" : $"name_{i}"));
        }

        matcher.TryMatch("name_0", out _, out _).Should().BeFalse();
    }

    private static CompiledRule Rule(PolicyDocument policy, string name)
    {
        policy.Compiled.Tools.TryMatch(name, out var rule, out _).Should().BeTrue();
        return rule;
    }
}
