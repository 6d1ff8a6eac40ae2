using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Policies;

/// <summary>
/// The values of a long <c>in</c> / <c>not_in</c> list, hashed: a lookup costs one hash of the call's value instead of a
/// comparison with every item. Membership is still decided by <see cref="JsonElement.DeepEquals"/>, within the bucket
/// of values that could equal it, so the answer is exactly the linear scan's.
/// </summary>
internal sealed class JsonValueSet
{
    /// <summary>Lists up to this long are scanned; a scan of a few items is as fast as a hash and allocates nothing.</summary>
    internal const int Threshold = 8;

    private readonly Dictionary<string, List<JsonElement>> _buckets = new(StringComparer.Ordinal);

    private JsonValueSet(JsonElement list)
    {
        foreach (var item in list.EnumerateArray())
        {
            var key = BucketOf(item);
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                _buckets[key] = bucket = [];
            }

            bucket.Add(item);
        }
    }

    /// <summary>A set of <paramref name="list"/>'s items, or null when it is short enough to scan (or not a list).</summary>
    public static JsonValueSet? For(JsonElement list) =>
        list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > Threshold ? new JsonValueSet(list) : null;

    /// <summary>Whether an item of the list deep-equals <paramref name="value"/>.</summary>
    public bool Contains(JsonElement value)
    {
        if (!_buckets.TryGetValue(BucketOf(value), out var bucket))
        {
            return false;
        }

        foreach (var item in bucket)
        {
            if (JsonElement.DeepEquals(value, item))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A key that every two deep-equal values share: the string itself, a number's value in one spelling (<c>1</c>,
    /// <c>1.0</c> and <c>10e-1</c> alike), the literal, or for arrays and objects their kind and size only (their
    /// bucket is then scanned with <see cref="JsonElement.DeepEquals"/>).
    /// </summary>
    private static string BucketOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "s" + value.GetString(),
        JsonValueKind.Number => NumberKey(JsonMarshal.GetRawUtf8Value(value)),
        JsonValueKind.True => "t",
        JsonValueKind.False => "f",
        JsonValueKind.Null => "z",
        JsonValueKind.Array => "a" + value.GetArrayLength().ToString(CultureInfo.InvariantCulture),
        JsonValueKind.Object => "o" + value.GetPropertyCount().ToString(CultureInfo.InvariantCulture),
        _ => "u",
    };

    /// <summary>
    /// <c>n</c>, the sign, the significant digits (no leading or trailing zeros) and the decimal exponent of the first
    /// of them; every zero is <c>n0</c>. Linear in the text; an exponent beyond any digit count saturates.
    /// </summary>
    internal static string NumberKey(ReadOnlySpan<byte> text)
    {
        var i = 0;
        var negative = text.Length > 0 && text[0] == (byte)'-';
        if (negative)
        {
            i++;
        }

        var digits = new StringBuilder();
        long point = 0;
        var seenPoint = false;
        for (; i < text.Length && text[i] is not ((byte)'e' or (byte)'E'); i++)
        {
            var c = text[i];
            if (c == (byte)'.')
            {
                seenPoint = true;
                continue;
            }

            if (digits.Length == 0 && c == (byte)'0')
            {
                if (seenPoint)
                {
                    point--; // A leading zero after the point moves the first significant digit right.
                }

                continue;
            }

            digits.Append((char)c);
            if (!seenPoint)
            {
                point++;
            }
        }

        long exponent = 0;
        if (i < text.Length)
        {
            i++;
            var negativeExponent = i < text.Length && text[i] == (byte)'-';
            if (i < text.Length && text[i] is (byte)'-' or (byte)'+')
            {
                i++;
            }

            for (; i < text.Length; i++)
            {
                exponent = Math.Min((exponent * 10) + (text[i] - '0'), 1L << 40);
            }

            exponent = negativeExponent ? -exponent : exponent;
        }

        var significant = digits.ToString().TrimEnd('0');
        if (significant.Length == 0)
        {
            return "n0";
        }

        return string.Create(CultureInfo.InvariantCulture, $"n{(negative ? '-' : '+')}{significant}e{point + exponent}");
    }
}
