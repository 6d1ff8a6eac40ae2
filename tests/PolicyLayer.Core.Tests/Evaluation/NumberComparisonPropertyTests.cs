using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using CsCheck;
using PolicyLayer.Evaluation;

namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>Number conditions compare JSON numbers exactly: the comparison agrees with a big-rational model for every pair.</summary>
public class NumberComparisonPropertyTests
{
    /// <summary>A JSON number's text and its exact value as mantissa × 10^exponent.</summary>
    private sealed record Number(string Text, BigInteger Mantissa, int Exponent);

    // Sign, integer digits, optional fraction, optional exponent in every JSON spelling; digits long enough to pass decimal's 28.
    private static readonly Gen<Number> Numbers =
        from negative in Gen.Bool
        from integer in Gen.OneOf(Gen.Const("0"), Gen.Int[1, 9].SelectMany(first => Gen.String[Gen.Char['0', '9'], 0, 35].Select(rest => first + rest)))
        from fraction in Gen.OneOf(Gen.Const(""), Gen.String[Gen.Char['0', '9'], 1, 35])
        from exponent in Gen.OneOf(Gen.Const((int?)null), Gen.Int[-60, 60].Select(e => (int?)e))
        from e in Gen.OneOfConst("e", "E", "e+", "E+")
        select Build(negative, integer, fraction, exponent, e);

    private static Number Build(bool negative, string integer, string fraction, int? exponent, string e)
    {
        var text = new StringBuilder();
        text.Append(negative ? "-" : "").Append(integer);
        if (fraction.Length > 0)
        {
            text.Append('.').Append(fraction);
        }

        if (exponent is { } x)
        {
            text.Append(x < 0 ? e[..1] : e).Append(x.ToString(CultureInfo.InvariantCulture));
        }

        var mantissa = BigInteger.Parse(integer + fraction, CultureInfo.InvariantCulture) * (negative ? -1 : 1);
        return new Number(text.ToString(), mantissa, (exponent ?? 0) - fraction.Length);
    }

    private static int Model(Number a, Number b)
    {
        var shift = Math.Min(a.Exponent, b.Exponent);
        var x = a.Mantissa * BigInteger.Pow(10, a.Exponent - shift);
        var y = b.Mantissa * BigInteger.Pow(10, b.Exponent - shift);
        return x.CompareTo(y);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Test]
    public void CompareNumbers_AgreesWithBigRationals() =>
        Gen.Select(Numbers, Numbers).Sample(
            (a, b) => Math.Sign(ConditionEvaluator.CompareNumbers(Json(a.Text), Json(b.Text))) == Math.Sign(Model(a, b)),
            iter: 20_000);

    [Test]
    public void CompareNumbers_NearNeighbours_AgreeWithBigRationals() =>
        // Pairs that differ in one far digit, where rounding through double or decimal goes wrong.
        Gen.Select(Numbers, Gen.Int[1, 9]).Sample(
            (a, digit) =>
            {
                var b = Build(a.Mantissa.Sign < 0, "0", new string('0', 40) + digit, null, "e");
                return Math.Sign(ConditionEvaluator.CompareNumbers(Json(a.Text), Json(b.Text))) == Math.Sign(Model(a, b))
                    && Math.Sign(ConditionEvaluator.CompareNumbers(Json(b.Text), Json(a.Text))) == -Math.Sign(Model(a, b));
            },
            iter: 5_000);
}
