using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using PolicyLayer.Policies;

namespace PolicyLayer.Evaluation;

/// <summary>
/// The answer of one condition: true, false, or one of the reasons it cannot be evaluated. A condition that cannot be
/// evaluated never lets a call through: a <c>require</c> fails, a <c>deny_if</c> refuses, a <c>require_approval_if</c>
/// holds; and the agent is told which of these reasons it was, not the text meant for a match.
/// </summary>
internal enum ConditionResult
{
    False,
    True,

    /// <summary>The path is absent (or null).</summary>
    Missing,

    /// <summary>The value is of a type the operator cannot compare.</summary>
    WrongType,

    /// <summary>A caller claim has several values and the operator compares one.</summary>
    SeveralValues,

    /// <summary>The regular expression ran out of time.</summary>
    TimedOut,
}

/// <summary>The answer of a predicate (its conditions ANDed) and the condition that decided it, if one did.</summary>
internal readonly record struct PredicateResult(ConditionResult Result, Condition? Decider)
{
    public bool IsTrue => Result == ConditionResult.True;

    public bool IsFalse => Result == ConditionResult.False;
}

/// <summary>Evaluates conditions on a call's arguments and its caller.</summary>
internal static class ConditionEvaluator
{
    /// <summary>
    /// ANDs the predicate's conditions: false as soon as one is false (whatever the others are, the predicate cannot
    /// match); else the first that cannot be evaluated; else true. An empty list is true.
    /// </summary>
    public static PredicateResult Evaluate(Predicate predicate, ToolCall call)
    {
        Condition? unknown = null;
        var unknownResult = ConditionResult.True;
        foreach (var condition in predicate.Conditions)
        {
            var result = Evaluate(condition, call);
            if (result == ConditionResult.False)
            {
                return new(ConditionResult.False, condition);
            }

            if (result != ConditionResult.True && unknown is null)
            {
                unknown = condition;
                unknownResult = result;
            }
        }

        return new(unknownResult, unknown);
    }

    public static ConditionResult Evaluate(Condition condition, ToolCall call) =>
        condition.Path.Source switch
        {
            PathSource.Arguments => EvaluateArgument(condition, call.Arguments),
            PathSource.Claim => EvaluateClaim(condition, call.Caller.Claims.TryGetValue(condition.Path.ClaimType!, out var values) ? values : null),
            _ => EvaluateText(condition, CallerValue(condition.Path.Source, call.Caller)),
        };

    private static string? CallerValue(PathSource source, CallerIdentity caller) => source switch
    {
        PathSource.Grant => caller.GrantId,
        PathSource.User => caller.UserId,
        PathSource.Agent => caller.AgentId,
        _ => caller.SessionId,
    };

    private static ConditionResult EvaluateArgument(Condition condition, IReadOnlyDictionary<string, JsonElement>? arguments)
    {
        var present = condition.Path.Argument!.TryResolve(arguments, out var actual) && actual.ValueKind != JsonValueKind.Undefined;
        if (condition.Operator == ConditionOperator.Exists)
        {
            return From((present && actual.ValueKind != JsonValueKind.Null) == condition.ExistsExpected);
        }

        if (!present)
        {
            return ConditionResult.Missing;
        }

        var expected = condition.Value;
        switch (condition.Operator)
        {
            case ConditionOperator.Eq:
                return From(JsonElement.DeepEquals(actual, expected));
            case ConditionOperator.Neq:
                return From(!JsonElement.DeepEquals(actual, expected));
            case ConditionOperator.In:
            case ConditionOperator.NotIn:
            {
                var found = false;
                foreach (var item in expected.EnumerateArray())
                {
                    if (JsonElement.DeepEquals(actual, item))
                    {
                        found = true;
                        break;
                    }
                }

                return From(found == (condition.Operator == ConditionOperator.In));
            }

            case ConditionOperator.Lt:
            case ConditionOperator.Lte:
            case ConditionOperator.Gt:
            case ConditionOperator.Gte:
            {
                if (actual.ValueKind != JsonValueKind.Number)
                {
                    return ConditionResult.WrongType;
                }

                var comparison = CompareNumbers(actual, expected);
                return From(condition.Operator switch
                {
                    ConditionOperator.Lt => comparison < 0,
                    ConditionOperator.Lte => comparison <= 0,
                    ConditionOperator.Gt => comparison > 0,
                    _ => comparison >= 0,
                });
            }

            case ConditionOperator.Regex:
                return actual.ValueKind == JsonValueKind.String ? Match(condition.Regex!, actual.GetString()!) : ConditionResult.WrongType;

            case ConditionOperator.Contains:
                if (actual.ValueKind == JsonValueKind.String && expected.ValueKind == JsonValueKind.String)
                {
                    return From(actual.GetString()!.Contains(expected.GetString()!, StringComparison.Ordinal));
                }

                if (actual.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in actual.EnumerateArray())
                    {
                        if (JsonElement.DeepEquals(item, expected))
                        {
                            return ConditionResult.True;
                        }
                    }

                    return ConditionResult.False;
                }

                return ConditionResult.WrongType;
            default:
                return ConditionResult.WrongType;
        }
    }

    /// <summary>A caller value (grant, user, agent, session): text, compared ordinally; absent when null.</summary>
    private static ConditionResult EvaluateText(Condition condition, string? actual)
    {
        if (condition.Operator == ConditionOperator.Exists)
        {
            return From((actual is not null) == condition.ExistsExpected);
        }

        if (actual is null)
        {
            return ConditionResult.Missing;
        }

        var expected = condition.Value;
        return condition.Operator switch
        {
            ConditionOperator.Eq => From(TextEquals(expected, actual)),
            ConditionOperator.Neq => From(!TextEquals(expected, actual)),
            ConditionOperator.In => From(ListHas(expected, actual)),
            ConditionOperator.NotIn => From(!ListHas(expected, actual)),
            ConditionOperator.Regex => Match(condition.Regex!, actual),
            ConditionOperator.Contains => expected.ValueKind == JsonValueKind.String
                ? From(actual.Contains(expected.GetString()!, StringComparison.Ordinal))
                : ConditionResult.False,
            _ => ConditionResult.WrongType,
        };
    }

    /// <summary>
    /// A claim: one value behaves as text; several behave as a list, which <c>contains</c> (a value equals the operand),
    /// <c>in</c> (some value is listed) and <c>not_in</c> (no value is listed) read; other operators compare one value.
    /// </summary>
    private static ConditionResult EvaluateClaim(Condition condition, IReadOnlyList<string>? values)
    {
        if (values is null || values.Count == 0)
        {
            return EvaluateText(condition, null);
        }

        var expected = condition.Value;
        switch (condition.Operator)
        {
            case ConditionOperator.Contains:
                foreach (var value in values)
                {
                    if (TextEquals(expected, value))
                    {
                        return ConditionResult.True;
                    }
                }

                return ConditionResult.False;
            case ConditionOperator.In:
            case ConditionOperator.NotIn:
                var listed = false;
                foreach (var value in values)
                {
                    listed |= ListHas(expected, value);
                }

                return From(listed == (condition.Operator == ConditionOperator.In));
            default:
                return values.Count == 1 || condition.Operator == ConditionOperator.Exists
                    ? EvaluateText(condition, values[0])
                    : ConditionResult.SeveralValues;
        }
    }

    private static bool TextEquals(JsonElement expected, string actual) =>
        expected.ValueKind == JsonValueKind.String && expected.ValueEquals(actual);

    private static bool ListHas(JsonElement list, string actual)
    {
        foreach (var item in list.EnumerateArray())
        {
            if (TextEquals(item, actual))
            {
                return true;
            }
        }

        return false;
    }

    private static ConditionResult Match(Regex regex, string input)
    {
        try
        {
            return From(regex.IsMatch(input));
        }
        catch (RegexMatchTimeoutException)
        {
            return ConditionResult.TimedOut;
        }
    }

    /// <summary>
    /// Compares two JSON numbers exactly, as the decimal numbers their text writes: no rounding through
    /// <see cref="decimal"/> or <see cref="double"/>, so <c>-1e-29</c> is less than <c>0</c> and <c>1e400</c> is a number.
    /// </summary>
    internal static int CompareNumbers(JsonElement a, JsonElement b)
    {
        if (a.TryGetInt64(out var la) && b.TryGetInt64(out var lb))
        {
            return la.CompareTo(lb);
        }

        return JsonNumber.Compare(JsonMarshal.GetRawUtf8Value(a), JsonMarshal.GetRawUtf8Value(b));
    }

    private static ConditionResult From(bool value) => value ? ConditionResult.True : ConditionResult.False;
}
