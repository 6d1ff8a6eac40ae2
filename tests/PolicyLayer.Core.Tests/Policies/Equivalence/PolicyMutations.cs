namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>
/// Edits of a generated valid policy meant to make it invalid, one rule of the format broken each. Some edits of some
/// documents stay valid (a wrong type where any JSON is allowed, say): the test asks the full reader first and skips those.
/// </summary>
internal static class PolicyMutations
{
    /// <summary>Each mutation by name; it returns false when the document has no place for it.</summary>
    public static readonly (string Name, Func<GeneratedPolicy, Random, bool> Apply)[] All =
    [
        ("remove a required field", RemoveRequired),
        ("wrong type", WrongType),
        ("unknown field", UnknownField),
        ("key twice", KeyTwice),
        ("blank tool key", BlankToolKey),
        ("max out of range", BadMax),
        ("window out of range", BadWindow),
        ("counter defined two ways", CounterTwoWays),
        ("two amounts for one counter", TwoAmounts),
        ("deny with limits", DenyWithLimits),
        ("number operator on a caller path", NumericOnCaller),
        ("regex with a backreference", RegexBackreference),
        ("bad revision", BadRevision),
        ("unknown version", UnknownVersion),
        ("lone surrogate escape", LoneSurrogate),
        ("key twice in a condition value", KeyTwiceInValue),
        ("trailing comma", TrailingComma),
        ("comment", Comment),
        ("text around the document", TextAround),
        ("bad condition path", BadPath),
        ("bad counter name", BadCounterName),
        ("bad name in hide, classify or risk", BadSectionEntry),
        ("nested past the depth limit", TooDeep),
        ("revision with edge or control whitespace", RevisionWhitespace),
    ];

    private static readonly Dictionary<PolicyPart, string[]> Required = new()
    {
        [PolicyPart.Condition] = ["path", "op", "value"],
        [PolicyPart.Limit] = ["counter", "max", "window"],
        [PolicyPart.RateLimit] = ["max", "window"],
        [PolicyPart.Root] = ["version"],
    };

    private static readonly PolicyPart[] FormatObjects =
        [PolicyPart.Root, PolicyPart.AllTools, PolicyPart.Rule, PolicyPart.Predicate, PolicyPart.Condition, PolicyPart.Limit, PolicyPart.RateLimit];

    private static bool RemoveRequired(GeneratedPolicy policy, Random random)
    {
        var candidates = Required.SelectMany(r => policy.Objects[r.Key].SelectMany(o => r.Value.Where(f => o[f] is not null).Select(f => (o, f)))).ToList();
        if (candidates.Count == 0)
        {
            return false;
        }

        var (obj, field) = candidates[random.Next(candidates.Count)];
        return obj.Remove(field);
    }

    private static bool WrongType(GeneratedPolicy policy, Random random)
    {
        var candidates = FormatObjects.Concat([PolicyPart.Tools, PolicyPart.Risk, PolicyPart.Classify])
            .SelectMany(p => policy.Objects[p]).SelectMany(o => o.Properties).ToList();
        var hide = policy.Root["hide"] as JArray;
        if (candidates.Count == 0)
        {
            return false;
        }

        JNode[] wrong = [new JLiteral("7"), new JLiteral("-1.5"), new JString("x"), new JLiteral("true"), new JLiteral("null"), new JArray([]), new JObject()];
        var replacement = wrong[random.Next(wrong.Length)];
        if (hide is { Items.Count: > 0 } && random.Next(8) == 0)
        {
            hide.Items[random.Next(hide.Items.Count)] = replacement;
            return true;
        }

        candidates[random.Next(candidates.Count)].Value = replacement;
        return true;
    }

    private static bool UnknownField(GeneratedPolicy policy, Random random)
    {
        var obj = PickObject(policy, random, FormatObjects);
        if (obj is null)
        {
            return false;
        }

        string[] names = ["bogus", "limts", "Action", "on-deny", "conditions_", "é", ""];
        obj.Properties.Insert(random.Next(obj.Properties.Count + 1), new JProperty(names[random.Next(names.Length)], new JLiteral("1")));
        return true;
    }

    private static bool KeyTwice(GeneratedPolicy policy, Random random)
    {
        var candidates = new[] { PolicyPart.Root, PolicyPart.Tools, PolicyPart.Rule, PolicyPart.Predicate, PolicyPart.Condition, PolicyPart.Limit, PolicyPart.RateLimit, PolicyPart.AllTools, PolicyPart.Risk, PolicyPart.Classify }
            .SelectMany(p => policy.Objects[p]).Where(o => o.Properties.Count > 0).ToList();
        if (candidates.Count == 0)
        {
            return false;
        }

        var obj = candidates[random.Next(candidates.Count)];
        var original = obj.Properties[random.Next(obj.Properties.Count)];
        var again = new JProperty(original.Key, random.Next(2) == 0 ? original.Value : Copy(original.Value)) { EscapeKey = random.Next(2) == 0 };
        obj.Properties.Insert(random.Next(obj.Properties.Count + 1), again);
        return true;
    }

    private static bool BlankToolKey(GeneratedPolicy policy, Random random)
    {
        if (policy.Objects[PolicyPart.Tools] is not [var tools, ..])
        {
            return false;
        }

        string[] blanks = ["", "  ", "\t", "\n"];
        tools.Properties.Insert(random.Next(tools.Properties.Count + 1), new JProperty(blanks[random.Next(blanks.Length)], random.Next(2) == 0 ? new JObject() : new JObject().Add("action", new JString("deny"))));
        return true;
    }

    private static bool BadMax(GeneratedPolicy policy, Random random)
    {
        var obj = PickObject(policy, random, [PolicyPart.Limit, PolicyPart.RateLimit]);
        if (obj is null)
        {
            return false;
        }

        string[] bad = ["0", "-1", "1.5", "9007199254740992", "99999999999999999999", "1e3", "30.0"];
        obj.Set("max", new JLiteral(bad[random.Next(bad.Length)]));
        return true;
    }

    private static bool BadWindow(GeneratedPolicy policy, Random random)
    {
        var obj = PickObject(policy, random, [PolicyPart.Limit, PolicyPart.RateLimit]);
        if (obj is null)
        {
            return false;
        }

        JNode[] bad = [new JLiteral("0"), new JLiteral("-5"), new JString("0s"), new JString("367d"), new JLiteral("31622401"), new JString("5x"), new JString(""), new JLiteral("1.5"), new JString("minutes")];
        obj.Set("window", bad[random.Next(bad.Length)]);
        return true;
    }

    private static bool CounterTwoWays(GeneratedPolicy policy, Random random)
    {
        var limit = PickObject(policy, random, [PolicyPart.Limit]);
        if (limit is null || policy.Objects[PolicyPart.Tools] is not [var tools, ..])
        {
            return false;
        }

        var max = limit["max"] is JLiteral { Raw: "1" } ? "2" : "1";
        var other = new JObject().Add("counter", limit["counter"]!).Add("max", new JLiteral(max)).Add("window", limit["window"]!);
        tools.Add("counter_two_ways_" + random.Next(1000), new JObject().Add("limits", new JArray([other])));
        return true;
    }

    private static bool TwoAmounts(GeneratedPolicy policy, Random random)
    {
        var rules = policy.Objects[PolicyPart.Rule].Where(r => r["limits"] is JArray { Items: [JObject, ..] }).ToList();
        if (rules.Count == 0)
        {
            return false;
        }

        var limits = (JArray)rules[random.Next(rules.Count)]["limits"]!;
        var limit = (JObject)limits.Items[random.Next(limits.Items.Count)];
        var again = new JObject();
        foreach (var property in limit.Properties.Where(p => p.Key != "increment_from"))
        {
            again.Add(property.Key, property.Value);
        }

        if (limit["increment_from"] is not JString { Value: "args.other_amount" })
        {
            again.Add("increment_from", new JString("args.other_amount"));
        }

        limits.Items.Insert(random.Next(limits.Items.Count + 1), again);
        return true;
    }

    private static bool DenyWithLimits(GeneratedPolicy policy, Random random)
    {
        var rule = PickObject(policy, random, [PolicyPart.Rule]);
        if (rule is null)
        {
            return false;
        }

        rule.Set("action", new JString("deny"));
        if (rule["limits"] is null && rule["rate_limit"] is null)
        {
            rule.Add("rate_limit", new JObject().Add("max", new JLiteral("5")).Add("window", new JString("minute")));
        }

        return true;
    }

    private static bool NumericOnCaller(GeneratedPolicy policy, Random random)
    {
        var condition = PickObject(policy, random, [PolicyPart.Condition]);
        if (condition is null)
        {
            return false;
        }

        string[] ops = ["lt", "lte", "gt", "gte"];
        string[] paths = ["caller.grant", "caller.user", "caller.agent", "caller.session", "caller.claims.level"];
        condition.Set("path", new JString(paths[random.Next(paths.Length)]));
        condition.Set("op", new JString(ops[random.Next(ops.Length)]));
        condition.Set("value", new JLiteral("5"));
        return true;
    }

    private static bool RegexBackreference(GeneratedPolicy policy, Random random)
    {
        var condition = PickObject(policy, random, [PolicyPart.Condition]);
        if (condition is null)
        {
            return false;
        }

        string[] patterns = ["(a)\\1", "(?<x>a)\\k<x>", "(?=a)b", "(?<!a)b", "(?>a+)b", "[a-"];
        condition.Set("op", new JString("regex"));
        condition.Set("value", new JString(patterns[random.Next(patterns.Length)]));
        return true;
    }

    private static bool BadRevision(GeneratedPolicy policy, Random random)
    {
        string[] bad = ["a\u0001b", new('r', 65), " lead", "trail ", "", "tab\tin", "new\nline"];
        policy.Root.Set("revision", random.Next(6) == 0 ? new JLiteral("12") : new JString(bad[random.Next(bad.Length)]));
        return true;
    }

    private static bool UnknownVersion(GeneratedPolicy policy, Random random)
    {
        JNode[] bad = [new JString("2"), new JString("1.0"), new JString(" 1"), new JLiteral("1"), new JString("")];
        policy.Root.Set("version", bad[random.Next(bad.Length)]);
        return true;
    }

    private static bool LoneSurrogate(GeneratedPolicy policy, Random random)
    {
        string[] raw = ["\"\\ud800\"", "\"a\\uDBFFb\"", "\"\\udc00x\"", "\"x\\ud83d\"", "\"\\ude00\\ud83d\""];
        var text = raw[random.Next(raw.Length)];
        if (policy.FreeText.Count > 0 && random.Next(3) != 0)
        {
            policy.FreeText[random.Next(policy.FreeText.Count)].Raw = text;
            return true;
        }

        if (policy.Objects[PolicyPart.Tools] is [var tools, ..])
        {
            // A tool key: an empty rule, whose key the full reader may read straight from the bytes.
            tools.Properties.Insert(random.Next(tools.Properties.Count + 1), new JProperty("lone", new JObject()) { RawKey = text });
            return true;
        }

        return false;
    }

    private static bool KeyTwiceInValue(GeneratedPolicy policy, Random random)
    {
        var conditions = policy.Objects[PolicyPart.Condition]
            .Where(c => c["op"] is JString { Value: "eq" or "neq" or "contains" or "in" or "not_in" }).ToList();
        if (conditions.Count == 0)
        {
            return false;
        }

        var condition = conditions[random.Next(conditions.Count)];
        var twice = new JObject().Add("a", new JLiteral("1"));
        twice.Properties.Add(new JProperty("a", new JLiteral("2")) { EscapeKey = random.Next(2) == 0 });
        var inner = random.Next(2) == 0 ? twice : new JObject().Add("outer", new JArray([new JLiteral("0"), twice]));
        condition.Set("value", condition["op"] is JString { Value: "in" or "not_in" } ? new JArray([new JString("x"), inner]) : inner);
        return true;
    }

    private static bool TrailingComma(GeneratedPolicy policy, Random random)
    {
        var obj = PickObject(policy, random, [.. Enum.GetValues<PolicyPart>()], o => o.Properties.Count > 0);
        if (obj is null)
        {
            return false;
        }

        if (random.Next(3) == 0 && obj.Properties.Select(p => p.Value).OfType<JArray>().FirstOrDefault(a => a.Items.Count > 0) is { } array)
        {
            array.TrailingComma = true;
        }
        else
        {
            obj.TrailingComma = true;
        }

        return true;
    }

    private static bool Comment(GeneratedPolicy policy, Random random)
    {
        var obj = PickObject(policy, random, [.. Enum.GetValues<PolicyPart>()]);
        if (obj is null)
        {
            return false;
        }

        obj.Comment = random.Next(2) == 0 ? "/* a comment */" : "// a comment\n";
        return true;
    }

    private static bool TextAround(GeneratedPolicy policy, Random random)
    {
        string[] before = ["", "", "x", "[", "\u00a0"];
        string[] after = ["x", "{}", "]", ",", "null", "/", "\u00a0", "\u0000"];
        var i = random.Next(before.Length);
        policy.Before = before[i];
        policy.After = i < 2 ? after[random.Next(after.Length)] : "";
        if (random.Next(6) == 0)
        {
            // Not an object at all.
            policy.Before = "[";
            policy.After = "]";
        }

        return true;
    }

    private static bool BadPath(GeneratedPolicy policy, Random random)
    {
        var condition = PickObject(policy, random, [PolicyPart.Condition]);
        if (condition is null)
        {
            return false;
        }

        string[] bad = ["args.", "args", "args..a", "args.a.", "args.a..b", "arg.a", "Args.a", "caller.", "caller.claims.", "caller.claims", "caller.Grant", "caller.grants", "caller.user.x", " args.a", ""];
        condition.Set("path", new JString(bad[random.Next(bad.Length)]));
        return true;
    }

    private static bool BadCounterName(GeneratedPolicy policy, Random random)
    {
        var limit = PickObject(policy, random, [PolicyPart.Limit]);
        if (limit is null)
        {
            return false;
        }

        string[] bad = ["", "/x", "/tools/t/rate_limit"];
        limit.Set("counter", new JString(bad[random.Next(bad.Length)]));
        return true;
    }

    private static bool BadSectionEntry(GeneratedPolicy policy, Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                string[] blank = ["", " ", "\t\n"];
                policy.Root.Set("hide", new JArray([new JString("ok"), new JString(blank[random.Next(blank.Length)])]));
                return true;
            case 1:
                policy.Root.Set("classify", new JObject().Add(random.Next(2) == 0 ? " " : "t", new JString(random.Next(2) == 0 ? "Read" : "read")));
                return true;
            case 2:
                policy.Root.Set("risk", new JObject().Add(random.Next(2) == 0 ? "Read" : "dangerous", new JObject()));
                return true;
            default:
                policy.Root.Set("risk", new JObject().Add("read", new JObject().Add("action", new JString("deny")).Add("limits", new JArray([]))));
                return true;
        }
    }

    private static bool TooDeep(GeneratedPolicy policy, Random random)
    {
        var condition = PickObject(policy, random, [PolicyPart.Condition]);
        if (condition is null)
        {
            return false;
        }

        // A condition's value starts 6 levels down (root, tools, rule, deny_if, condition) or 8 (hosted predicate): 57-62 arrays cross 64.
        JNode node = new JLiteral("1");
        for (var i = random.Next(57, 63); i > 0; i--)
        {
            node = new JArray([node]);
        }

        condition.Set("op", new JString("eq"));
        condition.Set("value", node);
        return true;
    }

    private static bool RevisionWhitespace(GeneratedPolicy policy, Random random)
    {
        string[] bad = ["\u00a0r", "r\u00a0", "\u2028r", "r\u0085", "r\u0085r", "\u3000", "r\u2029"];
        policy.Root.Set("revision", new JString(bad[random.Next(bad.Length)]));
        return true;
    }

    private static JObject? PickObject(GeneratedPolicy policy, Random random, PolicyPart[] parts, Func<JObject, bool>? where = null)
    {
        var candidates = parts.SelectMany(p => policy.Objects[p]).Where(o => where?.Invoke(o) ?? true).ToList();
        return candidates.Count == 0 ? null : candidates[random.Next(candidates.Count)];
    }

    /// <summary>A copy of a value (scalars are shared: the writer never changes them).</summary>
    private static JNode Copy(JNode node) => node switch
    {
        JObject obj => obj.Properties.Aggregate(new JObject(), (copy, p) => copy.Add(p.Key, Copy(p.Value))),
        JArray array => new JArray(array.Items.Select(Copy)),
        _ => node,
    };
}
