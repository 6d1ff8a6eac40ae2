using System.Text.Json;
using System.Text.RegularExpressions;
using CsCheck;
using PolicyLayer.Evaluation;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>
/// The compiled lookups (the glob index, the hashed <c>in</c> lists) answer exactly as the naive scans they replace,
/// for random patterns, names and values.
/// </summary>
public sealed class RuleScalingTests
{
    // A small alphabet, so that random patterns and names often share prefixes and suffixes and often match.
    private static readonly Gen<string> Literal = Gen.Char["ab_"].Array[0, 4].Select(c => new string(c));

    private static readonly Gen<string> Patterns =
        Gen.Select(Literal, Gen.Char["*?"].Array[1, 3], Literal.Array[3])
            .Select((head, wildcards, rest) =>
            {
                var text = head;
                for (var i = 0; i < wildcards.Length; i++)
                {
                    text += wildcards[i] + rest[i];
                }

                return text;
            });

    private static readonly Gen<string> Names = Gen.Char["ab_c"].Array[0, 10].Select(c => new string(c));

    [Test]
    public void CompiledGlobLookup_PicksTheSameRuleAsTheOrderedScan_ForRandomPatternsAndNames()
    {
        Gen.Select(Patterns.Array[1, 40], Names.Array[1, 30]).Sample((patterns, names) =>
        {
            var matcher = new NameMatcher<int>(patterns.Distinct().Select((p, i) => new KeyValuePair<string, int>(p, i)));
            foreach (var name in names)
            {
                // MatchAll is the ordered scan of every glob, most specific first.
                var naive = matcher.MatchAll(name).Select(m => m.Key).FirstOrDefault();
                var found = matcher.TryMatch(name, out _, out var key);
                if (found != (naive is not null) || key != naive)
                {
                    throw new InvalidOperationException($"'{name}': the index chose '{key}', the scan '{naive}', among [{string.Join(", ", patterns)}]");
                }
            }
        }, iter: 2_000);
    }

    [Test]
    public void Globs_AreRankedFewestWildcardsThenLongestThenDocumentOrder_ForRandomPatterns()
    {
        // The order is checked against a sort written here from the rule, not against the matcher's own scan.
        Gen.Select(Patterns.Array[1, 60], Names.Array[1, 20]).Sample((patterns, names) =>
        {
            var matcher = new NameMatcher<int>(patterns.Select((p, i) => new KeyValuePair<string, int>(p, i)));
            foreach (var name in names)
            {
                var expected = patterns.Select((p, i) => (Pattern: p, Index: i))
                    .Where(g => Regex.IsMatch(name, "^" + Regex.Escape(g.Pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$", RegexOptions.Singleline))
                    .OrderBy(g => g.Pattern.Count(c => c is '*' or '?')).ThenByDescending(g => g.Pattern.Length).ThenBy(g => g.Index)
                    .Select(g => g.Index)
                    .ToArray();
                var ranked = matcher.MatchAll(name).Select(m => m.Value).ToArray();
                if (!ranked.SequenceEqual(expected))
                {
                    throw new InvalidOperationException($"'{name}': ranked [{string.Join(", ", ranked)}], expected [{string.Join(", ", expected)}] among [{string.Join(", ", patterns)}]");
                }
            }
        }, iter: 2_000);
    }

    [Test]
    public void AKeyWrittenTwice_IsReported_ExactOrGlob_AndDistinctKeysReportNone()
    {
        new NameMatcher<int>([new("a", 1), new("b*", 2), new("c", 3)]).DuplicateKey.Should().BeNull();

        var exact = new NameMatcher<int>([new("a", 1), new("b*", 2), new("a", 3)]);
        exact.DuplicateKey.Should().Be("a");
        Match(exact, "a").Should().Be(3, "the last value wins, as a JSON object's last member");

        var glob = new NameMatcher<int>([new("b*", 1), new("x", 2), new("b*", 3), new("x", 4)]);
        glob.DuplicateKey.Should().Be("b*", "the first key written twice, in document order");
        Match(glob, "bee").Should().Be(1, "equal globs keep document order");
    }

    [Test]
    public void AKeyWrittenTwice_AmongRandomNamesAndGlobs_IsReported_AsTheFirstRepeatInDocumentOrder()
    {
        // Short keys over a tiny alphabet: exact names, globs under a prefix, under a suffix and under neither (*a*), many
        // sharing an end and many written twice. The oracle is the first key, in document order, seen before.
        var keys = Gen.Char["ab*?"].Array[1, 5].Select(c => new string(c)).Array[1, 40];
        keys.Sample(sample =>
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var expected = sample.FirstOrDefault(key => !seen.Add(key));
            var matcher = new NameMatcher<int>(sample.Select((key, i) => new KeyValuePair<string, int>(key, i)));
            matcher.DuplicateKey.Should().Be(expected, string.Join(" ", sample));
        }, iter: 3_000);
    }

    [Test]
    public void ManyKeys_FiledRegionByRegion_FindEveryKey_ReportTheFirstKeyWrittenTwice_AndKeepTheLastValue()
    {
        // 40,000 keys: a table of 65,536 slots, 32 regions (SlotOrder files them region by region, not in document order).
        var entries = Enumerable.Range(0, 40_000)
            .Select(i => new KeyValuePair<string, int>(i % 2 == 0 ? $"tool_{i}" : $"family_{i}_*", i))
            .ToList();

        // Written again, later in the document, in this order: the first of them in document order is tool_30000.
        entries.Add(new("tool_30000", -1));
        entries.Add(new("tool_2", -2));
        entries.Add(new("family_7_*", -3));
        entries.Add(new("tool_2", -4));
        var matcher = new NameMatcher<int>(entries);

        matcher.DuplicateKey.Should().Be("tool_30000", "the first key written a second time, in document order, whatever region it is filed in");
        matcher.Count.Should().Be(40_001, "an exact name written again is one key; a glob keeps each writing");
        Match(matcher, "tool_2").Should().Be(-4, "the last value wins");
        Match(matcher, "tool_30000").Should().Be(-1);
        for (var i = 0; i < 40_000; i += 2)
        {
            if (i is not 2 and not 30_000)
            {
                matcher.TryMatch($"tool_{i}", out var value, out var key).Should().BeTrue();
                (value, key).Should().Be((i, $"tool_{i}"));
            }
        }

        for (var i = 1; i < 40_000; i += 2)
        {
            Match(matcher, $"family_{i}_x").Should().Be(i, "each glob is filed under its own prefix");
        }

        matcher.Entries.Where(e => !GlobPattern.IsGlob(e.Key)).Select(e => e.Key).Should().OnlyHaveUniqueItems().And.HaveCount(20_000);
        new NameMatcher<int>(entries.Take(40_000)).DuplicateKey.Should().BeNull();
    }

    [Test]
    public void ManyGlobsSharingEnds_AnswerAsTheOrderedScan()
    {
        // 30,000 globs over 3,000 prefixes and 3,000 suffixes, each end shared by ten globs of different lengths.
        var patterns = Enumerable.Range(0, 30_000)
            .Select(i => i % 2 == 0 ? $"p{i % 3_000}_{new string('x', i % 7)}*" : $"*{new string('y', i % 5)}_s{i % 3_000}")
            .ToArray();
        var matcher = new NameMatcher<int>(patterns.Select((p, i) => new KeyValuePair<string, int>(p, i)));
        var globs = patterns.Select(p => new GlobPattern(p)).ToArray();
        var random = new Random(7);
        for (var n = 0; n < 400; n++)
        {
            var name = random.Next(3) switch
            {
                0 => $"p{random.Next(3_000)}_{new string('x', random.Next(8))}tail",
                1 => $"head{new string('y', random.Next(6))}_s{random.Next(3_000)}",
                _ => $"p{random.Next(3_000)}_xx_s{random.Next(3_000)}",
            };

            // The ordered scan: fewest wildcards, then the longest pattern, then document order.
            var expected = Enumerable.Range(0, patterns.Length)
                .Where(i => globs[i].IsMatch(name))
                .OrderBy(i => patterns[i].Count(c => c is '*' or '?')).ThenByDescending(i => patterns[i].Length).ThenBy(i => i)
                .Select(i => (int?)i)
                .FirstOrDefault();
            (matcher.TryMatch(name, out var value, out _) ? value : (int?)null).Should().Be(expected, name);
        }
    }

    [Test]
    public void GlobShape_FindsBothEnds_AndCountsTheWildcards()
    {
        // One wildcard (nothing counted between the first and the last), several, at either end, in the middle, or none;
        // short globs and globs longer than a vector.
        var random = new Random(11);
        for (var n = 0; n < 2_000; n++)
        {
            var text = new char[random.Next(1, 74)];
            for (var i = 0; i < text.Length; i++)
            {
                text[i] = random.Next(n % 3 == 0 ? 40 : 12) switch { 0 => '*', 1 => '?', _ => (char)('a' + random.Next(3)) };
            }

            if (n % 10 == 0)
            {
                Array.Fill(text, 'k');
            }

            var glob = new string(text);
            int first = glob.IndexOfAny(['*', '?']), last = glob.LastIndexOfAny(['*', '?']);
            var expected = first < 0
                ? new GlobShape(glob.Length, 0, glob.Length, glob.Length)
                : new GlobShape(glob.Length, glob.Count(c => c is '*' or '?'), first, glob.Length - 1 - last);
            GlobShape.Of(glob).Should().Be(expected, glob);
        }
    }

    [Test]
    public void KeyHash_TellsApartNamesThatDifferOnlyInTheirLastCharacters()
    {
        // The last one to seven bytes are read in two overlapping reads, and a longer name ends with a read of its last
        // eight (or sixteen) bytes, overlapping the step before: every byte must still count.
        foreach (var length in Enumerable.Range(1, 24))
        {
            var head = new string('n', Math.Max(0, length - 3));
            var names = (from a in "abcdefgh" from b in "abcdefgh" from c in "abcdefgh" select (head + a + b + c)[^length..]).Distinct().ToArray();
            // A 32-bit hash of a random seed may collide once by chance (about 1 in 30,000 for 512 names); a byte left out collides hundreds.
            names.Select(name => KeyHash.Of(name)).Distinct().Count().Should().BeGreaterThanOrEqualTo(names.Length - 1, $"names of {length} characters");
        }
    }

    [Test]
    public void GlobsOfThousandsOfCharacters_AreRankedAsShortOnes()
    {
        // A length past the counting sort's buckets: ranked by the packed sort key instead, in the same order.
        var x = new string('x', 5_000);
        var matcher = new NameMatcher<string>([new("*", "any"), new(x + "*", "long"), new("x*", "short"), new(x + "?", "one-char"), new(x + "*y*", "two")]);

        matcher.MatchAll(x + "y").Select(m => m.Value).Should().Equal(["long", "one-char", "short", "any", "two"],
            "fewest wildcards, then the longest pattern, then document order");
        Match(matcher, x + "yy").Should().Be("long");
        Match(matcher, "xz").Should().Be("short");
    }

    [Test]
    public void ANameSpelledLikeAGlob_IsNotAnExactMatchOfThatGlob()
    {
        // "a?" and "a*" are equally specific, so document order decides, even for the name "a*" itself.
        var matcher = new NameMatcher<string>([new("a?", "question"), new("a*", "star"), new("b", "exact")]);

        matcher.TryMatch("a*", out var value, out var key).Should().BeTrue();
        value.Should().Be("question");
        key.Should().Be("a?");
        Match(matcher, "b").Should().Be("exact");
        matcher.MatchAll("a*").Select(m => m.Key).Should().Equal("a?", "a*");
    }

    [Test]
    public void CompiledGlobLookup_KeepsTheSpecificityOrder_FewestWildcardsThenLongest()
    {
        var matcher = new NameMatcher<string>(new Dictionary<string, string>
        {
            ["*"] = "any",
            ["get_*"] = "get",
            ["*_user"] = "user",
            ["get_*_*r"] = "two-wildcards-long",
            ["get_us?r"] = "one-wildcard-long",
            ["*ser"] = "short-suffix",
        });

        Match(matcher, "get_user").Should().Be("one-wildcard-long", "one wildcard and 8 characters beats one wildcard and 5 or 6");
        Match(matcher, "get_admin_user").Should().Be("user", "'*_user' (6) is longer than 'get_*' (5), both with one wildcard");
        Match(matcher, "get_x").Should().Be("get");
        Match(matcher, "zzz").Should().Be("any");
    }

    [Test]
    public void CompiledGlobLookup_WithAHundredThousandRules_FindsTheRightOne()
    {
        var rules = Enumerable.Range(0, 100_000).SelectMany(i => new[]
        {
            new KeyValuePair<string, int>($"svc{i}_*", i),
            new KeyValuePair<string, int>($"*_op{i}", -i),
        });
        var matcher = new NameMatcher<int>(rules);

        Match(matcher, "svc99999_read").Should().Be(99_999);
        Match(matcher, "x_op42").Should().Be(-42);
        matcher.TryMatch("never_seen", out _, out _).Should().BeFalse();
    }

    [Test]
    public void InList_OverTheThreshold_IsHashed_AndAnswersAsTheScan_ForRandomValues()
    {
        var values = Gen.OneOf(
            Gen.Int[-20, 20].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Gen.Int[-20, 20].Select(i => $"{i}.0"),
            Gen.Int[-20, 20].Select(i => i == 0 ? "0e5" : $"{i}0e-1"),
            Gen.Const("0.000"), Gen.Const("-0"), Gen.Const("1e0"), Gen.Const("0.1e1"), Gen.Const("100e-2"),
            Gen.Char["abc"].Array[0, 3].Select(c => JsonSerializer.Serialize(new string(c))),
            Gen.Const("\"\\u0061\""), Gen.Const("true"), Gen.Const("false"), Gen.Const("null"),
            Gen.Const("[1,2]"), Gen.Const("[2,1]"), Gen.Const("{\"a\":1,\"b\":2}"), Gen.Const("{\"b\":2,\"a\":1.0}"));

        Gen.Select(values.Array[JsonValueSet.Threshold + 1, 40], values.Array[1, 20]).Sample((items, probes) =>
        {
            using var list = JsonDocument.Parse("[" + string.Join(",", items) + "]");
            var set = JsonValueSet.For(list.RootElement)!;
            foreach (var probe in probes)
            {
                using var value = JsonDocument.Parse(probe);
                var scan = list.RootElement.EnumerateArray().Any(item => JsonElement.DeepEquals(value.RootElement, item));
                if (set.Contains(value.RootElement) != scan)
                {
                    throw new InvalidOperationException($"{probe} in [{string.Join(",", items)}]: the set says {!scan}, the scan {scan}");
                }
            }
        }, iter: 2_000);
    }

    [Test]
    public async Task InCondition_WithAThousandValues_DecidesAsWritten()
    {
        var allowed = string.Join(",", Enumerable.Range(0, 1_000).Select(i => $"\"region-{i}\""));
        var policy = PolicyDocument.Parse($$"""
            { "version": "1", "tools": { "deploy": { "require": [ { "path": "args.region", "op": "in", "value": [{{allowed}}] } ] } } }
            """);
        using var evaluator = new PolicyEvaluator(policy);

        (await evaluator.EvaluateAsync(Call("""{ "region": "region-999" }"""))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Call("""{ "region": "region-1000" }"""))).IsAllowed.Should().BeFalse();
        (await evaluator.EvaluateAsync(Call("""{ "region": 999 }"""))).IsAllowed.Should().BeFalse();
    }

    private static ToolCall Call(string args) =>
        new("deploy", new CallerIdentity { GrantId = "g" }, JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(args));

    private static T? Match<T>(NameMatcher<T> matcher, string name) => matcher.TryMatch(name, out var value, out _) ? value : default;
}
