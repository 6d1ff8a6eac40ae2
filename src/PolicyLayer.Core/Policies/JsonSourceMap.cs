using System.Buffers;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Policies;

/// <summary>
/// Where each value and property name of a JSON document stands (line and column by JSON path),
/// found in one pass that also reports duplicate keys and enforces size and depth limits.
/// System.Text.Json's DOM keeps no positions, so the loader reads the bytes twice: once here, once as a JsonDocument.
/// </summary>
internal sealed class JsonSourceMap
{
    private readonly ReadOnlyMemory<byte> _utf8;
    private readonly List<int> _lineStarts = [0];
    private readonly Dictionary<string, int> _valueOffsets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _keyOffsets = new(StringComparer.Ordinal);

    private JsonSourceMap(ReadOnlyMemory<byte> utf8)
    {
        _utf8 = utf8;
        var bytes = utf8.Span;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    /// <summary>Scans <paramref name="utf8"/>; syntax errors and duplicate keys go to <paramref name="errors"/>.</summary>
    /// <returns>The map, or <see langword="null"/> when the JSON is malformed (nothing more can be checked).</returns>
    public static JsonSourceMap? Scan(ReadOnlyMemory<byte> utf8, PolicyErrorList errors)
    {
        var map = new JsonSourceMap(utf8);
        var reader = new Utf8JsonReader(utf8.Span, new JsonReaderOptions
        {
            MaxDepth = PolicyLimits.MaxDepth,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });

        // One frame per open container: its path, the next array index, and the keys seen so far.
        var frames = new Stack<Frame>();
        string? pendingKey = null;
        try
        {
            while (reader.Read())
            {
                var offset = (int)reader.TokenStartIndex;
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                    {
                        var frame = frames.Peek();
                        if (!IsWellFormedString(ref reader))
                        {
                            errors.Add(frame.Path, map.Position(offset), "The property name has an invalid escape: a \\u escape of half a surrogate pair.");
                            return null;
                        }

                        pendingKey = reader.GetString()!;
                        var path = JsonPath.Property(frame.Path, pendingKey);
                        if (!frame.Keys!.Add(pendingKey))
                        {
                            errors.Add(path, map.Position(offset), $"Duplicate key '{pendingKey}': each key may appear once in an object.");
                        }
                        else
                        {
                            map._keyOffsets[path] = offset;
                        }

                        break;
                    }

                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                    {
                        var path = NextValuePath(frames, ref pendingKey);
                        map._valueOffsets.TryAdd(path, offset);
                        frames.Push(new Frame(path, reader.TokenType == JsonTokenType.StartObject ? new HashSet<string>(StringComparer.Ordinal) : null));
                        break;
                    }

                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        frames.Pop();
                        break;

                    default:
                    {
                        var path = NextValuePath(frames, ref pendingKey);
                        map._valueOffsets.TryAdd(path, offset);
                        if (reader.TokenType == JsonTokenType.String && !IsWellFormedString(ref reader))
                        {
                            errors.Add(path, map.Position(offset), "The string has an invalid escape: a \\u escape of half a surrogate pair. Write the whole pair, or the character itself.");
                            return null;
                        }

                        break;
                    }
                }
            }
        }
        catch (JsonException ex)
        {
            var line = (int)(ex.LineNumber ?? 0) + 1;
            var lineStart = line - 1 < map._lineStarts.Count ? map._lineStarts[line - 1] : 0;
            var bytesInLine = (int)(ex.BytePositionInLine ?? 0);
            var column = map.CharColumn(lineStart, Math.Min(lineStart + bytesInLine, utf8.Length));
            var path = frames.Count > 0 ? frames.Peek().Path : "$";
            var message = frames.Count >= PolicyLimits.MaxDepth
                ? $"The document nests objects and arrays deeper than {PolicyLimits.MaxDepth} levels, the most accepted."
                : "Malformed JSON: " + TrimReaderMessage(ex.Message);
            errors.Add(new PolicyValidationError(path, line, column, message));
            return null;
        }

        return map;
    }

    /// <summary>The line and column of the value at <paramref name="path"/>, or of its nearest ancestor.</summary>
    public (int Line, int Column) ValuePosition(string path)
    {
        for (var p = path; ; p = JsonPath.Parent(p))
        {
            if (_valueOffsets.TryGetValue(p, out var offset))
            {
                return Position(offset);
            }

            if (p == "$")
            {
                return (1, 1);
            }
        }
    }

    /// <summary>The line and column of the property name at <paramref name="path"/>, else of its value.</summary>
    public (int Line, int Column) KeyPosition(string path) =>
        _keyOffsets.TryGetValue(path, out var offset) ? Position(offset) : ValuePosition(path);

    private (int Line, int Column) Position(int offset)
    {
        var index = _lineStarts.BinarySearch(offset);
        var line = index >= 0 ? index : ~index - 1;
        return (line + 1, CharColumn(_lineStarts[line], offset));
    }

    // Columns count characters, as editors do, not bytes.
    private int CharColumn(int lineStart, int offset) =>
        Encoding.UTF8.GetCharCount(_utf8.Span.Slice(lineStart, Math.Max(0, offset - lineStart))) + 1;

    private static string NextValuePath(Stack<Frame> frames, ref string? pendingKey)
    {
        if (frames.Count == 0)
        {
            return "$";
        }

        var frame = frames.Peek();
        if (frame.Keys is not null)
        {
            var path = JsonPath.Property(frame.Path, pendingKey!);
            pendingKey = null;
            return path;
        }

        return JsonPath.Index(frame.Path, frame.NextIndex++);
    }

    // Utf8JsonReader accepts "\uD800" lexically but GetString throws on it; such text cannot become a .NET string.
    private static bool IsWellFormedString(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return true;
        }

        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string TrimReaderMessage(string message)
    {
        // The reader appends "LineNumber: n | BytePositionInLine: m."; the error carries the position already.
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private sealed class Frame(string path, HashSet<string>? keys)
    {
        public string Path { get; } = path;

        public HashSet<string>? Keys { get; } = keys;

        public int NextIndex { get; set; }
    }
}

/// <summary>JSON paths as the errors show them: <c>$.tools.create_refund.limits[0].max</c>, <c>$.tools['odd key']</c>.</summary>
internal static class JsonPath
{
    private static readonly SearchValues<char> PlainKeyChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-*?$");

    public static string Property(string parent, string key) =>
        key.Length > 0 && !key.AsSpan().ContainsAnyExcept(PlainKeyChars)
            ? parent + "." + key
            : parent + "['" + key.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "']";

    public static string Index(string parent, int index) => parent + "[" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";

    public static string Parent(string path)
    {
        if (path.EndsWith(']'))
        {
            // Either an index [n] or a quoted key ['...']: find the bracket that opens it.
            var quoted = path.EndsWith("']", StringComparison.Ordinal);
            var open = quoted ? path.LastIndexOf("['", StringComparison.Ordinal) : path.LastIndexOf('[');
            return open > 0 ? path[..open] : "$";
        }

        var dot = path.LastIndexOf('.');
        return dot > 0 ? path[..dot] : "$";
    }
}

/// <summary>
/// A JSON path that is formatted only when an error prints it: reading a valid document links a few small nodes and
/// never builds a path's text.
/// </summary>
internal sealed class LazyJsonPath
{
    private readonly LazyJsonPath? _parent;
    private readonly int _index;

    // Set once, but for a member slot (see MemberSlot), which is pointed at each member in turn.
    private string? _key;
    private readonly bool _isSlot;

    /// <param name="parent">The path this one extends; null for the root.</param>
    /// <param name="key">A property of the parent, or null.</param>
    /// <param name="index">An index into the array at the parent (or at its <paramref name="key"/>), or -1.</param>
    /// <param name="isSlot">Whether the node is a member slot (<see cref="MemberSlot"/>).</param>
    private LazyJsonPath(LazyJsonPath? parent, string? key, int index, bool isSlot = false)
    {
        _parent = parent;
        _key = key;
        _index = index;
        _isSlot = isSlot;
    }

    /// <summary>The document itself: <c>$</c>.</summary>
    public static LazyJsonPath Root { get; } = new(null, null, -1);

    /// <summary>The value of <paramref name="key"/> in the object at this path.</summary>
    public LazyJsonPath Property(string key) => new(this, key, -1);

    /// <summary>The item at <paramref name="index"/> in the array at this path.</summary>
    public LazyJsonPath Index(int index) => new(this, null, index);

    /// <summary>
    /// One node for the members of the object at this path, read one after another: <see cref="At"/> points it at each
    /// in turn, so that reading 10,000 rules makes one node, not 10,000. Only for a path (and paths below it) used while
    /// its member is read, as an error writes its text at once; never kept past that.
    /// </summary>
    public LazyJsonPath MemberSlot() => new(this, "", -1, isSlot: true);

    /// <summary>This member slot, pointed at the member <paramref name="key"/>.</summary>
    public LazyJsonPath At(string key)
    {
        if (!_isSlot)
        {
            throw new InvalidOperationException("Only a member slot is pointed at another member.");
        }

        _key = key;
        return this;
    }

    /// <summary>The item at <paramref name="index"/> of the array in property <paramref name="key"/>: one node for <c>.key[index]</c>.</summary>
    public LazyJsonPath Item(string key, int index) => new(this, key, index);

    /// <summary>The path's text, such as <c>$.tools.search.limits[0]</c>, in the form <see cref="JsonPath"/> writes (made anew each time: errors are rare).</summary>
    public override string ToString()
    {
        if (_parent is null)
        {
            return "$";
        }

        var text = _parent.ToString();
        if (_key is not null)
        {
            text = JsonPath.Property(text, _key);
        }

        return _index >= 0 ? JsonPath.Index(text, _index) : text;
    }
}

/// <summary>The limits a policy document must keep to.</summary>
internal static class PolicyLimits
{
    /// <summary>The largest document accepted: 4 MiB.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>The deepest nesting accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>The longest window accepted: 366 days.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(366);

    /// <summary>The largest <c>max</c> accepted: 2^53 - 1, the largest whole number every JSON reader keeps exactly.</summary>
    public const long MaxUnits = 9_007_199_254_740_991;

    /// <summary>
    /// How long one regex match may run before the condition counts as failed (fail closed). Matching is linear in the
    /// input (<see cref="System.Text.RegularExpressions.RegexOptions.NonBacktracking"/>) and inputs are bounded, so this is
    /// defence in depth, measured in wall-clock time: one second, as 100 ms was used up by threads merely waiting for a
    /// core on a saturated host (the first match of a pattern also builds its automaton), refusing legitimate calls.
    /// </summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);
}
