namespace PolicyLayer;

/// <summary>
/// Splits tool names, property names, enum values and prose into words without allocating:
/// snake_case, kebab-case, dotted.names, "space separated", camelCase and PascalCase (with
/// acronyms: <c>HTTPServer</c> is <c>HTTP</c>, <c>Server</c>) all give the same words.
/// </summary>
internal static class ToolNameTokenizer
{
    /// <summary>The most words read from one name; the rest are ignored.</summary>
    public const int MaxWords = 32;

    /// <summary>Writes the ranges of the words of <paramref name="text"/> into <paramref name="words"/>.</summary>
    /// <returns>The number of words written (at most the length of <paramref name="words"/>).</returns>
    public static int Tokenize(ReadOnlySpan<char> text, Span<Range> words)
    {
        int count = 0;
        var enumerator = new WordEnumerator(text);
        while (count < words.Length && enumerator.MoveNext())
        {
            words[count++] = enumerator.CurrentRange;
        }

        return count;
    }

    /// <summary>Enumerates the words of a text, each as a span of it.</summary>
    internal ref struct WordEnumerator
    {
        private readonly ReadOnlySpan<char> _text;
        private int _position;

        public WordEnumerator(ReadOnlySpan<char> text)
        {
            _text = text;
            _position = 0;
            CurrentRange = default;
        }

        /// <summary>Where the current word is in the text.</summary>
        public Range CurrentRange { get; private set; }

        /// <summary>The current word.</summary>
        public readonly ReadOnlySpan<char> Current => _text[CurrentRange];

        /// <summary>Moves to the next word.</summary>
        public bool MoveNext()
        {
            ReadOnlySpan<char> text = _text;
            int i = _position;
            while (i < text.Length && !char.IsLetterOrDigit(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                _position = i;
                return false;
            }

            int start = i;
            i++;
            while (i < text.Length)
            {
                char c = text[i];
                if (c == '\'' && i + 1 < text.Length && char.IsLetter(text[i + 1]) && char.IsLower(text[i + 1]))
                {
                    // "can't", "don't": an apostrophe inside a word keeps it whole.
                    i++;
                    continue;
                }

                if (!char.IsLetterOrDigit(c))
                {
                    break;
                }

                char previous = text[i - 1];
                bool boundary =
                    (char.IsUpper(c) && char.IsLower(previous)) ||
                    (char.IsUpper(c) && char.IsUpper(previous) && i + 1 < text.Length && char.IsLower(text[i + 1])) ||
                    (char.IsDigit(c) != char.IsDigit(previous) && char.IsLetterOrDigit(previous));
                if (boundary)
                {
                    break;
                }

                i++;
            }

            CurrentRange = new Range(start, i);
            _position = i;
            return true;
        }
    }
}
