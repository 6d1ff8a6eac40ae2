using System.Buffers;

namespace PolicyLayer.Gateway;

/// <summary>
/// The canonical form in which the gateway forwards a message it has parsed: the same JSON tokens, byte for byte, with
/// no whitespace between them, and with the line and paragraph separators U+2028, U+2029 and U+0085 escaped inside
/// strings. What leaves the gateway is then printable JSON on one line with no CR, LF or other separator that any
/// SDK's line splitting (C#, TypeScript, Python, Java) could split at: every reader frames it as the one message the
/// gateway decided. One linear pass.
/// </summary>
internal static class CanonicalJson
{
    /// <summary>
    /// Writes <paramref name="json"/> (one value that <see cref="JsonRpcScanner"/> has read without error) in canonical
    /// form, with the bytes at <paramref name="replaceStart"/> (<paramref name="replaceLength"/> long: a token, such as
    /// the id) replaced by <paramref name="replacement"/>.
    /// </summary>
    public static void Write(ReadOnlySpan<byte> json, IBufferWriter<byte> into, int replaceStart = -1, int replaceLength = 0, ReadOnlySpan<byte> replacement = default)
    {
        var inString = false;
        var escaped = false;
        var runStart = 0;
        for (var i = 0; i < json.Length; i++)
        {
            if (i == replaceStart)
            {
                Flush(json, runStart, i, into);
                into.Write(replacement);
                i += replaceLength - 1;
                runStart = i + 1;
                continue;
            }

            var b = json[i];
            if (inString)
            {
                if (escaped)
                {
                    escaped = false;
                }
                else if (b == (byte)'\\')
                {
                    escaped = true;
                }
                else if (b == (byte)'"')
                {
                    inString = false;
                }
                else if (b == 0xE2 && i + 2 < json.Length && json[i + 1] == 0x80 && json[i + 2] is 0xA8 or 0xA9)
                {
                    // U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR: line breaks to some readers.
                    Flush(json, runStart, i, into);
                    into.Write(json[i + 2] == 0xA8 ? "\\u2028"u8 : "\\u2029"u8);
                    i += 2;
                    runStart = i + 1;
                }
                else if (b == 0xC2 && i + 1 < json.Length && json[i + 1] == 0x85)
                {
                    // U+0085 NEXT LINE.
                    Flush(json, runStart, i, into);
                    into.Write("\\u0085"u8);
                    i += 1;
                    runStart = i + 1;
                }

                continue;
            }

            switch (b)
            {
                case (byte)'"':
                    inString = true;
                    break;
                case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                    // Whitespace between tokens: JSON's four, the only ones a valid value has outside strings.
                    Flush(json, runStart, i, into);
                    runStart = i + 1;
                    break;
            }
        }

        Flush(json, runStart, json.Length, into);
    }

    private static void Flush(ReadOnlySpan<byte> json, int start, int end, IBufferWriter<byte> into)
    {
        if (end > start)
        {
            into.Write(json[start..end]);
        }
    }
}
