using System.Text.Json;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Cases;

/// <summary>A cases file: call sequences with expected outcomes (format: cases.schema.json, README.md, "Testing a policy file").</summary>
internal sealed record CasesFile(string Path, DateTimeOffset? Start, IReadOnlyList<TestCase> Cases);

internal sealed record TestCase(string Name, CallerIdentity Caller, IReadOnlyList<TestStep> Steps);

/// <summary>One step: move the clock (<see cref="Advance"/>), or call a tool <see cref="Times"/> times and check each decision.</summary>
internal sealed record TestStep(
    string Pointer,
    TimeSpan? Advance,
    string? Tool,
    Dictionary<string, JsonElement>? Arguments,
    CallerIdentity? Caller,
    bool Approved,
    int Times,
    TimeSpan? Interval,
    ToolDescriptor? Descriptor,
    Expectation? Expect);

/// <summary>What a call's decision must be; null members are not checked.</summary>
internal sealed record Expectation(
    PolicyOutcome Outcome,
    bool RateLimited,
    string? Rule,
    string? ReasonContains,
    TimeSpan? RetryAfter,
    RiskCategory? Risk,
    IReadOnlyDictionary<string, long>? Remaining);

/// <summary>Reads a cases file, reporting every problem with its JSON path at once.</summary>
internal static class CasesReader
{
    internal static readonly string[] RootFields = ["$schema", "start", "cases"];
    internal static readonly string[] CaseFields = ["name", "caller", "steps"];
    internal static readonly string[] CallerFields = ["grant", "session", "agent", "user", "claims"];
    internal static readonly string[] StepFields = ["call", "args", "caller", "approved", "times", "interval", "tool", "expect", "advance"];
    internal static readonly string[] ToolFields = ["description", "annotations", "inputSchema"];
    internal static readonly string[] ExpectFields = ["outcome", "rule", "reason_contains", "retry_after", "risk", "remaining"];
    internal static readonly string[] Outcomes = ["allow", "deny", "require_approval", "rate_limited"];

    /// <summary>
    /// The caller of a case that names none: grant-1 in session-1, the same as <c>PolicyTestHarness.DefaultCaller</c>.
    /// A case's <c>caller</c> replaces only the ids it names (null removes one), and a step's <c>caller</c> does the same
    /// to its case's caller, so that <c>{"grant": "x"}</c> keeps session-1 as <c>PolicyTestHarness.AsGrant("x")</c> does.
    /// </summary>
    public static CallerIdentity DefaultCaller { get; } = new() { GrantId = "grant-1", SessionId = "session-1" };

    public static CasesFile Read(string path)
    {
        var text = PolicyFiles.ReadText(path, "cases");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{path}:{(ex.LineNumber ?? 0) + 1}:{(ex.BytePositionInLine ?? 0) + 1}: not JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var errors = new List<string>();
            var file = ReadRoot(path, document.RootElement, errors);
            if (errors.Count > 0)
            {
                throw new UsageException($"{path}: the cases file is invalid:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors));
            }

            return file!;
        }
    }

    private static CasesFile? ReadRoot(string path, JsonElement root, List<string> errors)
    {
        if (!Object(root, "$", RootFields, errors))
        {
            return null;
        }

        DateTimeOffset? start = null;
        if (root.TryGetProperty("start", out var s))
        {
            if (s.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(s.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
            {
                start = parsed;
            }
            else
            {
                errors.Add("$.start: expected an ISO 8601 date and time, such as \"2026-01-05T09:00:00Z\".");
            }
        }

        var cases = new List<TestCase>();
        if (!root.TryGetProperty("cases", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            errors.Add("$.cases: expected a non-empty array of cases.");
            return null;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var item in list.EnumerateArray())
        {
            var at = $"$.cases[{i++}]";
            var testCase = ReadCase(item, at, errors);
            if (testCase is not null && !names.Add(testCase.Name))
            {
                errors.Add($"{at}.name: another case is named \"{testCase.Name}\"; names must be unique.");
            }

            if (testCase is not null)
            {
                cases.Add(testCase);
            }
        }

        return new CasesFile(path, start, cases);
    }

    private static TestCase? ReadCase(JsonElement item, string at, List<string> errors)
    {
        if (!Object(item, at, CaseFields, errors))
        {
            return null;
        }

        var name = String(item, "name", at, errors, required: true);
        var caller = item.TryGetProperty("caller", out var c) ? ReadCaller(c, at + ".caller", DefaultCaller, errors) : DefaultCaller;
        var steps = new List<TestStep>();
        if (!item.TryGetProperty("steps", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            errors.Add($"{at}.steps: expected a non-empty array of steps.");
        }
        else
        {
            var i = 0;
            foreach (var step in list.EnumerateArray())
            {
                var s = ReadStep(step, $"{at}.steps[{i++}]", caller ?? DefaultCaller, errors);
                if (s is not null)
                {
                    steps.Add(s);
                }
            }
        }

        return name is null || caller is null ? null : new TestCase(name, caller, steps);
    }

    /// <summary><paramref name="baseCaller"/> with the ids <paramref name="element"/> names replaced (null removes one).</summary>
    private static CallerIdentity? ReadCaller(JsonElement element, string at, CallerIdentity baseCaller, List<string> errors)
    {
        if (!Object(element, at, CallerFields, errors))
        {
            return null;
        }

        return new CallerIdentity
        {
            GrantId = Id(element, "grant", baseCaller.GrantId, at, errors),
            SessionId = Id(element, "session", baseCaller.SessionId, at, errors),
            AgentId = Id(element, "agent", baseCaller.AgentId, at, errors),
            UserId = Id(element, "user", baseCaller.UserId, at, errors),
            Claims = element.TryGetProperty("claims", out var claims) ? ReadClaims(claims, at + ".claims", errors) : baseCaller.Claims,
        };
    }

    private static string? Id(JsonElement element, string name, string? inherited, string at, List<string> errors) =>
        !element.TryGetProperty(name, out var value) ? inherited
        : value.ValueKind == JsonValueKind.Null ? null
        : String(element, name, at, errors);

    /// <summary>Claims as <c>{"role": ["finance", "approver"], "tenant": "acme"}</c>: a string or a list of strings per type.</summary>
    private static IReadOnlyDictionary<string, IReadOnlyList<string>> ReadClaims(JsonElement element, string at, List<string> errors)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{at}: expected an object of claim types, each a string or a list of strings.");
            return CallerIdentity.GroupClaims(pairs);
        }

        foreach (var claim in element.EnumerateObject())
        {
            var values = claim.Value.ValueKind == JsonValueKind.Array ? claim.Value.EnumerateArray().ToList() : [claim.Value];
            foreach (var value in values)
            {
                if (value.ValueKind != JsonValueKind.String)
                {
                    errors.Add($"{at}.{claim.Name}: expected a string or a list of strings.");
                    continue;
                }

                pairs.Add(new(claim.Name, value.GetString()!));
            }
        }

        return CallerIdentity.GroupClaims(pairs);
    }

    private static TestStep? ReadStep(JsonElement step, string at, CallerIdentity caseCaller, List<string> errors)
    {
        if (!Object(step, at, StepFields, errors))
        {
            return null;
        }

        if (step.TryGetProperty("advance", out var advance))
        {
            foreach (var property in step.EnumerateObject())
            {
                if (property.Name != "advance")
                {
                    errors.Add($"{at}.{property.Name}: a step either moves the clock (\"advance\") or calls a tool (\"call\"), not both.");
                }
            }

            if (!Durations.TryParse(advance, out var by))
            {
                errors.Add($"{at}.advance: expected a duration such as \"90s\", \"5m\", \"1h\", \"250ms\" or a number of seconds.");
                return null;
            }

            return new TestStep(at, by, null, null, null, false, 0, null, null, null);
        }

        var tool = String(step, "call", at, errors);
        if (tool is null)
        {
            errors.Add($"{at}: a step needs \"call\" (a tool name) or \"advance\" (a duration).");
            return null;
        }

        Dictionary<string, JsonElement>? args = null;
        if (step.TryGetProperty("args", out var a))
        {
            if (a.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{at}.args: expected a JSON object of arguments.");
            }
            else
            {
                args = a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
            }
        }

        var caller = step.TryGetProperty("caller", out var c) ? ReadCaller(c, at + ".caller", caseCaller, errors) : null;
        var approved = false;
        if (step.TryGetProperty("approved", out var ap))
        {
            if (ap.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                approved = ap.GetBoolean();
            }
            else
            {
                errors.Add($"{at}.approved: expected true or false.");
            }
        }

        var times = 1;
        if (step.TryGetProperty("times", out var t) && (!t.TryGetInt32(out times) || times < 1 || times > 100_000))
        {
            errors.Add($"{at}.times: expected a whole number from 1 to 100000.");
        }

        TimeSpan? interval = null;
        if (step.TryGetProperty("interval", out var iv))
        {
            if (Durations.TryParse(iv, out var span))
            {
                interval = span;
            }
            else
            {
                errors.Add($"{at}.interval: expected a duration such as \"2s\" or a number of seconds.");
            }
        }

        ToolDescriptor? descriptor = null;
        if (step.TryGetProperty("tool", out var td))
        {
            if (Object(td, at + ".tool", ToolFields, errors))
            {
                try
                {
                    descriptor = ToolLists.ToDescriptor(td, at + ".tool", knownName: tool);
                }
                catch (UsageException ex)
                {
                    errors.Add(ex.Message);
                }
            }
        }

        Expectation? expect = null;
        if (!step.TryGetProperty("expect", out var e))
        {
            errors.Add($"{at}.expect: a call step needs an expectation, such as \"allow\" or {{\"outcome\": \"deny\", \"rule\": \"/tools/delete_*\"}}.");
        }
        else
        {
            expect = ReadExpectation(e, at + ".expect", errors);
        }

        return new TestStep(at, null, tool, args, caller, approved, times, interval, descriptor, expect);
    }

    private static Expectation? ReadExpectation(JsonElement element, string at, List<string> errors)
    {
        if (element.ValueKind == JsonValueKind.String)
        {
            return ParseOutcome(element.GetString()!, at, errors) is { } simple
                ? new Expectation(simple.Outcome, simple.RateLimited, null, null, null, null, null)
                : null;
        }

        if (!Object(element, at, ExpectFields, errors))
        {
            return null;
        }

        var outcomeText = String(element, "outcome", at, errors, required: true);
        var outcome = outcomeText is null ? null : ParseOutcome(outcomeText, at + ".outcome", errors);
        TimeSpan? retry = null;
        if (element.TryGetProperty("retry_after", out var r))
        {
            if (Durations.TryParse(r, out var span))
            {
                retry = span;
            }
            else
            {
                errors.Add($"{at}.retry_after: expected a duration such as \"60s\" or a number of seconds.");
            }
        }

        RiskCategory? risk = null;
        if (String(element, "risk", at, errors) is { } riskText)
        {
            if (Enum.TryParse<RiskCategory>(riskText, ignoreCase: true, out var category) && !int.TryParse(riskText, out _))
            {
                risk = category;
            }
            else
            {
                errors.Add($"{at}.risk: unknown category \"{riskText}\"; expected read, write, execute, destructive or financial.");
            }
        }

        Dictionary<string, long>? remaining = null;
        if (element.TryGetProperty("remaining", out var rem))
        {
            if (rem.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{at}.remaining: expected an object of counter names and units left, such as {{\"labels\": 29}}.");
            }
            else
            {
                remaining = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (var p in rem.EnumerateObject())
                {
                    if (p.Value.TryGetInt64(out var units) && units >= 0)
                    {
                        remaining[p.Name] = units;
                    }
                    else
                    {
                        errors.Add($"{at}.remaining.{p.Name}: expected a whole number of units, 0 or more.");
                    }
                }
            }
        }

        return outcome is null
            ? null
            : new Expectation(outcome.Value.Outcome, outcome.Value.RateLimited, String(element, "rule", at, errors), String(element, "reason_contains", at, errors), retry, risk, remaining);
    }

    private static (PolicyOutcome Outcome, bool RateLimited)? ParseOutcome(string text, string at, List<string> errors)
    {
        switch (text)
        {
            case "allow": return (PolicyOutcome.Allow, false);
            case "deny": return (PolicyOutcome.Deny, false);
            case "require_approval": return (PolicyOutcome.RequireApproval, false);
            case "rate_limited": return (PolicyOutcome.Deny, true);
            default:
                errors.Add($"{at}: unknown outcome \"{text}\"; expected {string.Join(", ", Outcomes)}.");
                return null;
        }
    }

    private static bool Object(JsonElement element, string at, string[] fields, List<string> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{at}: expected a JSON object.");
            return false;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (Array.IndexOf(fields, property.Name) < 0)
            {
                errors.Add($"{at}.{property.Name}: unknown field; expected one of {string.Join(", ", fields)}.");
            }
        }

        return true;
    }

    private static string? String(JsonElement element, string name, string at, List<string> errors, bool required = false)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            if (required)
            {
                errors.Add($"{at}.{name}: required.");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString()!.Length == 0)
        {
            errors.Add($"{at}.{name}: expected a non-empty string.");
            return null;
        }

        return value.GetString();
    }
}
