namespace PolicyLayer.Evaluation;

/// <summary>
/// Exact comparison of two JSON numbers by their text. A number is read as sign, significant digits and the position of
/// the decimal point; two numbers are ordered by sign, then by the position of their first significant digit, then by
/// their digits. Linear in the length of the text, whatever the exponent (so <c>1e999999999</c> costs no more than <c>1</c>).
/// </summary>
internal static class JsonNumber
{
    public static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var x = Parse(a);
        var y = Parse(b);
        if (x.Sign != y.Sign)
        {
            return x.Sign.CompareTo(y.Sign);
        }

        if (x.Sign == 0)
        {
            return 0;
        }

        var magnitude = x.Point != y.Point ? x.Point.CompareTo(y.Point) : CompareDigits(x, y);
        return x.Sign > 0 ? magnitude : -magnitude;
    }

    /// <summary>The digits of both, significant digits first, the shorter padded with zeros.</summary>
    private static int CompareDigits(in Parsed x, in Parsed y)
    {
        var length = Math.Max(x.DigitCount, y.DigitCount);
        for (var i = 0; i < length; i++)
        {
            var dx = i < x.DigitCount ? x.Digit(i) : 0;
            var dy = i < y.DigitCount ? y.Digit(i) : 0;
            if (dx != dy)
            {
                return dx.CompareTo(dy);
            }
        }

        return 0;
    }

    /// <summary>
    /// The value is <c>Sign × 0.D × 10^Point</c>, where D is the significant digits (first one non-zero, trailing zeros
    /// dropped). The text is valid JSON (the reader checked it); the exponent saturates far beyond any digit count.
    /// </summary>
    private static Parsed Parse(ReadOnlySpan<byte> text)
    {
        var sign = 1;
        var i = 0;
        if (i < text.Length && text[i] == '-')
        {
            sign = -1;
            i++;
        }

        var mantissaStart = i;
        while (i < text.Length && text[i] is not ((byte)'e' or (byte)'E'))
        {
            i++;
        }

        var mantissa = text[mantissaStart..i];
        long exponent = 0;
        if (i < text.Length)
        {
            i++;
            var negative = false;
            if (text[i] is (byte)'+' or (byte)'-')
            {
                negative = text[i] == '-';
                i++;
            }

            for (; i < text.Length; i++)
            {
                exponent = Math.Min(exponent * 10 + (text[i] - '0'), 1L << 40);
            }

            exponent = negative ? -exponent : exponent;
        }

        var dot = mantissa.IndexOf((byte)'.');
        var integerLength = dot < 0 ? mantissa.Length : dot;

        // Skip leading zeros (each moves the point one place left once past the integer part) and trailing zeros.
        var first = -1;
        var last = -1;
        var leadingZeros = 0;
        for (var k = 0; k < mantissa.Length; k++)
        {
            var c = mantissa[k];
            if (c == '.')
            {
                continue;
            }

            if (c != '0')
            {
                if (first < 0)
                {
                    first = k;
                }

                last = k;
            }
            else if (first < 0)
            {
                leadingZeros++;
            }
        }

        if (first < 0)
        {
            return default;
        }

        return new Parsed(sign, integerLength + exponent - leadingZeros, mantissa, first, last);
    }

    private readonly ref struct Parsed
    {
        private readonly ReadOnlySpan<byte> _mantissa;
        private readonly int _first;
        private readonly int _dot;

        public Parsed(int sign, long point, ReadOnlySpan<byte> mantissa, int first, int last)
        {
            Sign = sign;
            Point = point;
            _mantissa = mantissa;
            _first = first;
            _dot = mantissa.IndexOf((byte)'.');
            DigitCount = last - first + 1 - (_dot > first && _dot < last ? 1 : 0);
        }

        /// <summary>-1, 0 or 1.</summary>
        public int Sign { get; }

        public long Point { get; }

        public int DigitCount { get; }

        /// <summary>The i-th significant digit.</summary>
        public int Digit(int i)
        {
            var k = _first + i;
            if (_dot > _first && k >= _dot)
            {
                k++;
            }

            return _mantissa[k] - '0';
        }
    }
}
