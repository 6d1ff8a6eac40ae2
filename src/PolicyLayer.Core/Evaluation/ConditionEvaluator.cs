using System.Text.Json;
using System.Text.RegularExpressions;
using PolicyLayer.Policies;

namespace PolicyLayer.Evaluation;

/// <summary>The answer of one condition: true, false, or indeterminate (the value is absent or of the wrong type).</summary>
internal enum ConditionResult
{
    False,
    True,

    /// <summary>Never lets a call through: a <c>require</c> fails, a <c>deny_if</c> refuses, a <c>require_approval_if</c> holds.</summary>
    Indeterminate,
}

/// <summary>Evaluates conditions on a call's arguments.</summary>
internal static class ConditionEvaluator
{
    public static ConditionResult Evaluate(Condition condition, IReadOnlyDictionary<string, JsonElement>? arguments)
    {
        var present = condition.Path.TryResolve(arguments, out var actual) && actual.ValueKind != JsonValueKind.Undefined;
        if (condition.Operator == ConditionOperator.Exists)
        {
            var exists = present && actual.ValueKind != JsonValueKind.Null;
            return exists == condition.ExistsExpected ? ConditionResult.True : ConditionResult.False;
        }

        if (!present)
        {
            return ConditionResult.Indeterminate;
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
                    return ConditionResult.Indeterminate;
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
                if (actual.ValueKind != JsonValueKind.String)
                {
                    return ConditionResult.Indeterminate;
                }

                try
                {
                    return From(condition.Regex!.IsMatch(actual.GetString()!));
                }
                catch (RegexMatchTimeoutException)
                {
                    return ConditionResult.Indeterminate;
                }

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

                return ConditionResult.Indeterminate;
            default:
                return ConditionResult.Indeterminate;
        }
    }

    /// <summary>Compares two JSON numbers exactly where decimal can hold them, else as doubles.</summary>
    internal static int CompareNumbers(JsonElement a, JsonElement b)
    {
        if (a.TryGetDecimal(out var da) && b.TryGetDecimal(out var db))
        {
            return da.CompareTo(db);
        }

        return a.GetDouble().CompareTo(b.GetDouble());
    }

    private static ConditionResult From(bool value) => value ? ConditionResult.True : ConditionResult.False;
}
