using System.Text;

namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>The kinds of object of the format a mutation may pick (see <see cref="GeneratedPolicy.Objects"/>).</summary>
internal enum PolicyPart
{
    Root,
    AllTools,
    Tools,
    Rule,
    Predicate,
    Condition,
    Limit,
    RateLimit,
    Risk,
    Classify,
    ConditionValue,
}

/// <summary>A generated valid policy as a tree, with its objects by kind (for mutations) and its strings (for escapes).</summary>
internal sealed class GeneratedPolicy(JObject root)
{
    public JObject Root { get; } = root;

    public Dictionary<PolicyPart, List<JObject>> Objects { get; } = Enum.GetValues<PolicyPart>().ToDictionary(p => p, _ => new List<JObject>());

    /// <summary>Strings whose content is free text (reasons, names): a place for any character.</summary>
    public List<JString> FreeText { get; } = [];

    /// <summary>Text written before the document (none in a valid one).</summary>
    public string Before { get; set; } = "";

    /// <summary>Text written after the document (none in a valid one).</summary>
    public string After { get; set; } = "";

    /// <summary>The document's UTF-8 bytes as <paramref name="style"/> writes it, with a byte order mark when asked.</summary>
    public byte[] Write(JsonWriterStyle style, bool byteOrderMark)
    {
        var utf8 = Encoding.UTF8.GetBytes(Before + style.Write(Root) + After);
        return byteOrderMark ? [0xEF, 0xBB, 0xBF, .. utf8] : utf8;
    }
}

/// <summary>
/// Valid version-1 policies covering the whole format as the README and <c>PolicyReaderV1</c> define it: every root
/// field, tool names and globs, empty rules, every rule field, both predicate shapes, every operator with a valid value,
/// argument and caller paths, every window form and scope, counters named by several limits, risk and classify. Keys are
/// shuffled; text holds escapes, quotes, non-ASCII and non-BMP characters. Driven by one seed, so a failure reproduces.
/// </summary>
internal sealed class PolicyGenerator
{
    private static readonly string[] Actions = ["allow", "deny", "require_approval"];
    private static readonly string[] Scopes = ["grant", "session", "agent", "user", "global"];
    private static readonly string[] Categories = ["read", "write", "execute", "destructive", "financial"];
    private static readonly string[] Operators = ["eq", "neq", "in", "not_in", "lt", "lte", "gt", "gte", "regex", "contains", "exists"];
    private static readonly long[] Windows = [1, 60, 3600, 86400, 90, 300, 7200, 172800, 366L * 86400];
    private static readonly long[] Maxima = [1, 2, 30, 1000, 9_007_199_254_740_991];
    private static readonly string[] Segments = ["amount", "customer", "id", "0", "12", "items", "sku", "é", "a_b", "x-y", "名前", "with space"];
    private static readonly string[] CallerPaths =
    [
        "caller.grant", "caller.user", "caller.agent", "caller.session", "caller.claims.role", "caller.claims.a.b.c",
        "caller.claims.http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
    ];

    private static readonly string[] Numbers = ["30", "30.0", "3e1", "3E+1", "0", "-0", "-1.5", "0.000001", "1e-29", "-1E-29", "12345678901234567890", "1e400", "-2.5e3"];
    private static readonly string[] Patterns = ["^[a-z]+$", "a|b", "\\d{3}-\\d{4}", "(?i)prod", "^\\w+@example\\.com$", "[^/]+/[^/]+", "é+", ".*"];
    private static readonly string[] TextPieces =
    [
        "Say why.", "Refunds over 5,000 need a person.", "line\nbreak", "quote \" inside", "café", "中文", "😀", "slash / back \\ ",
        "tab\there", "\u00e9t\u00e9", "<script>", "~0~1", " padded ", "{\"json\": true}", "\u0001ctl", "\"all_tools\": {", "\"tools\"",
    ];

    // Besides names, the format's own words: a reader that searches the text for "all_tools" or "counter" must not be fooled.
    private static readonly string[] NamePieces =
        ["tool", "create_refund", "policies.create", "a/b~c", "名前", "x\"q", "list", "get", "é", "😀", "sp ace", "-", "_", "1", "all_tools", "\"counter\"", "{", "rate_limit"];

    private readonly Random _random;
    private readonly GeneratedPolicy _policy;
    private readonly Dictionary<string, CounterSpec> _counters = new(StringComparer.Ordinal);
    private int _counterNames;

    // Whether condition values hold no objects (a reader may leave those to the full read, which looks for keys written twice in them).
    private readonly bool _plain;

    private PolicyGenerator(Random random, bool plain)
    {
        _random = random;
        _plain = plain;
        _policy = new GeneratedPolicy(new JObject());
    }

    /// <summary>A valid policy made from <paramref name="random"/>; <paramref name="plain"/> puts no object in condition values.</summary>
    public static GeneratedPolicy Valid(Random random, bool plain = false) => new PolicyGenerator(random, plain).Build();

    private sealed record CounterSpec(long Max, long WindowSeconds, string? Scope, string? IncrementFrom);

    private GeneratedPolicy Build()
    {
        var root = _policy.Root;
        Register(PolicyPart.Root, root);
        if (Chance(0.3))
        {
            root.Add("$schema", Text(Pick("./policy.schema.json", "https://example.com/s/é.json", "")));
        }

        root.Add("version", new JString("1"));
        if (Chance(0.3))
        {
            root.Add("revision", new JString(Revision()));
        }

        if (Chance(0.5))
        {
            root.Add("default", new JString(Pick(Actions)));
        }

        if (Chance(0.4))
        {
            root.Add("hide", new JArray(Enumerable.Range(0, _random.Next(0, 4)).Select(_ => Text(Name()))));
        }

        if (Chance(0.5))
        {
            var allTools = Register(PolicyPart.AllTools, new JObject());
            if (Chance(0.9))
            {
                allTools.Add("limits", new JArray(Enumerable.Range(0, _random.Next(0, 3)).Select(_ => Limit())));
            }

            root.Add("all_tools", allTools);
        }

        if (Chance(0.95))
        {
            var tools = Register(PolicyPart.Tools, new JObject());
            var names = new HashSet<string>(StringComparer.Ordinal);
            // Now and then hundreds of rules, mostly empty: past the first sizes of a reader's tables.
            var many = Chance(0.05);
            for (var i = many ? _random.Next(300, 700) : _random.Next(0, 9); i > 0; i--)
            {
                var name = Name() + (many ? "_" + i : "");
                if (names.Add(name))
                {
                    tools.Add(name, Chance(many ? 0.9 : 0.3) ? Register(PolicyPart.Rule, new JObject()) : Rule());
                }
            }

            root.Add("tools", tools);
        }

        if (Chance(0.4))
        {
            var risk = Register(PolicyPart.Risk, new JObject());
            foreach (var category in Categories.Where(_ => Chance(0.4)))
            {
                risk.Add(category, Chance(0.2) ? Register(PolicyPart.Rule, new JObject()) : Rule());
            }

            root.Add("risk", risk);
        }

        if (Chance(0.4))
        {
            var classify = Register(PolicyPart.Classify, new JObject());
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = _random.Next(0, 4); i > 0; i--)
            {
                var name = Name();
                if (names.Add(name))
                {
                    classify.Add(name, new JString(Pick(Categories)));
                }
            }

            root.Add("classify", classify);
        }

        foreach (var list in _policy.Objects.Values)
        {
            foreach (var obj in list)
            {
                Shuffle(obj.Properties);
            }
        }

        return _policy;
    }

    private JObject Rule()
    {
        var rule = Register(PolicyPart.Rule, new JObject());
        var action = Chance(0.6) ? null : Pick(Actions);
        if (action is not null)
        {
            rule.Add("action", new JString(action));
        }

        if (Chance(0.4))
        {
            rule.Add("reason", Text(FreeText()));
        }

        foreach (var field in new[] { "require", "deny_if", "require_approval_if" })
        {
            if (Chance(0.4))
            {
                rule.Add(field, new JArray(Enumerable.Range(0, _random.Next(0, 4)).Select(_ => Predicate())));
            }
        }

        if (action != "deny")
        {
            if (Chance(0.5))
            {
                rule.Add("limits", new JArray(Enumerable.Range(0, _random.Next(0, 4)).Select(_ => Limit())));
            }

            if (Chance(0.3))
            {
                var rateLimit = Register(PolicyPart.RateLimit, new JObject());
                var seconds = Pick(Windows);
                rateLimit.Add("max", JLiteral.Number(Pick(Maxima))).Add("window", Window(seconds));
                if (Chance(0.5))
                {
                    rateLimit.Add("scope", new JString(Pick(Scopes)));
                }

                rule.Add("rate_limit", rateLimit);
            }
        }

        return rule;
    }

    private JObject Predicate()
    {
        if (Chance(0.5))
        {
            return Condition();
        }

        var predicate = Register(PolicyPart.Predicate, new JObject());
        predicate.Add("conditions", new JArray(Enumerable.Range(0, _random.Next(0, 4)).Select(_ => Condition())));
        if (Chance(0.6))
        {
            predicate.Add("on_deny", Text(FreeText()));
        }

        return predicate;
    }

    private JObject Condition()
    {
        var condition = Register(PolicyPart.Condition, new JObject());
        var op = Pick(Operators);
        var numeric = op is "lt" or "lte" or "gt" or "gte";
        condition.Add("path", new JString(numeric || Chance(0.7) ? ArgumentPath() : Pick(CallerPaths)));
        condition.Add("op", new JString(op));
        JNode? value = op switch
        {
            "exists" => _random.Next(3) switch { 0 => null, 1 => new JLiteral("true"), _ => new JLiteral("false") },
            "in" or "not_in" => new JArray(Enumerable.Range(0, _random.Next(0, 12)).Select(_ => Scalar())),
            "lt" or "lte" or "gt" or "gte" => new JLiteral(Pick(Numbers)),
            "regex" => new JString(Pick(Patterns)),
            _ => Chance(0.05) ? Nested(_random.Next(1, 58)) : AnyJson(3),
        };
        if (value is not null)
        {
            condition.Add("value", value);
        }

        if (Chance(0.3))
        {
            condition.Add("reason", Text(FreeText()));
        }

        return condition;
    }

    private JObject Limit()
    {
        var limit = Register(PolicyPart.Limit, new JObject());
        string name;
        CounterSpec spec;
        if (_counters.Count > 0 && Chance(0.4))
        {
            // A counter already named elsewhere: the same budget, its window perhaps written another way.
            name = Pick([.. _counters.Keys]);
            spec = _counters[name];
        }
        else
        {
            name = Pick("c", "calls", "policies.create_rate", "spend total", "é", "c\"q") + "_" + _counterNames++;
            spec = new CounterSpec(Pick(Maxima), Pick(Windows), Chance(0.5) ? Pick(Scopes) : null, Chance(0.3) ? ArgumentPath() : null);
            _counters[name] = spec;
        }

        limit.Add("counter", Text(name));
        limit.Add("max", JLiteral.Number(spec.Max));
        limit.Add("window", Window(spec.WindowSeconds));
        if (spec.Scope is { } scope)
        {
            limit.Add("scope", new JString(scope));
        }
        else if (Chance(0.3))
        {
            // The default scope of a limit, written out: the same counter.
            limit.Add("scope", new JString("grant"));
        }

        if (spec.IncrementFrom is { } from)
        {
            limit.Add("increment_from", new JString(from));
        }

        return limit;
    }

    /// <summary>One of the ways to write a window of <paramref name="seconds"/>.</summary>
    private JNode Window(long seconds)
    {
        var forms = new List<JNode> { JLiteral.Number(seconds), new JString(seconds + "s") };
        if (seconds is 1 or 60 or 3600 or 86400)
        {
            forms.Add(new JString(seconds switch { 1 => "second", 60 => "minute", 3600 => "hour", _ => "day" }));
        }

        if (seconds % 60 == 0)
        {
            forms.Add(new JString(seconds / 60 + "m"));
        }

        if (seconds % 3600 == 0)
        {
            forms.Add(new JString(seconds / 3600 + "h"));
        }

        if (seconds % 86400 == 0)
        {
            forms.Add(new JString(seconds / 86400 + "d"));
        }

        return Pick([.. forms]);
    }

    private string ArgumentPath() => "args." + string.Join('.', Enumerable.Range(0, _random.Next(1, 5)).Select(_ => Pick(Segments)));

    private JNode Scalar() => _random.Next(5) switch
    {
        0 => Text(FreeText()),
        1 => new JLiteral(Pick(Numbers)),
        2 => new JLiteral("true"),
        3 => new JLiteral("false"),
        _ => Chance(0.5) ? new JLiteral("null") : Text(Pick(Segments)),
    };

    /// <summary>Any JSON, objects with distinct keys, nested at most <paramref name="depth"/> deep.</summary>
    private JNode AnyJson(int depth)
    {
        switch (depth <= 0 ? 0 : _random.Next(_plain ? 3 : 4))
        {
            case 2:
                return new JArray(Enumerable.Range(0, _random.Next(0, 4)).Select(_ => AnyJson(depth - 1)));
            case 3:
                var obj = Register(PolicyPart.ConditionValue, new JObject());
                foreach (var key in Enumerable.Range(0, _random.Next(0, 4)).Select(_ => Pick(Segments)).Distinct(StringComparer.Ordinal))
                {
                    obj.Add(key, AnyJson(depth - 1));
                }

                return obj;
            default:
                return Scalar();
        }
    }

    /// <summary>Arrays in arrays, <paramref name="depth"/> deep: with the condition's own depth, up to the 64 levels a document may nest.</summary>
    private static JNode Nested(int depth)
    {
        JNode node = new JLiteral("1");
        for (var i = 0; i < depth; i++)
        {
            node = new JArray([node]);
        }

        return node;
    }

    private string Name()
    {
        var name = string.Concat(Enumerable.Range(0, _random.Next(1, 4)).Select(_ => PlainPick(NamePieces))) + _random.Next(100);
        return _random.Next(4) switch
        {
            0 => name + "*",
            1 => "?" + name + "_*",
            _ => name,
        };
    }

    private string FreeText() => string.Concat(Enumerable.Range(0, _random.Next(1, 4)).Select(_ => PlainPick(TextPieces)));

    /// <summary>One of <paramref name="pieces"/>; in a plain policy, not one with a brace (a reader may leave a list whose text has one to the full read).</summary>
    private string PlainPick(string[] pieces)
    {
        while (true)
        {
            var piece = Pick(pieces);
            if (!_plain || !piece.Contains('{', StringComparison.Ordinal))
            {
                return piece;
            }
        }
    }

    private string Revision()
    {
        const string Safe = "abcdefXYZ0123456789.-_é中";
        const string Inner = Safe + " \u00a0";
        var length = Chance(0.2) ? 64 : _random.Next(1, 20);
        return string.Concat(Enumerable.Range(0, length).Select(i => i == 0 || i == length - 1 ? Safe[_random.Next(Safe.Length)] : Inner[_random.Next(Inner.Length)]));
    }

    private JString Text(string value)
    {
        var text = new JString(value);
        _policy.FreeText.Add(text);
        return text;
    }

    private JObject Register(PolicyPart part, JObject obj)
    {
        _policy.Objects[part].Add(obj);
        return obj;
    }

    private bool Chance(double p) => _random.NextDouble() < p;

    private T Pick<T>(params T[] items) => items[_random.Next(items.Length)];

    private void Shuffle<T>(List<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
