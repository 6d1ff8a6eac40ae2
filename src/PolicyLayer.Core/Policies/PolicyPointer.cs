using System.Globalization;

namespace PolicyLayer.Policies;

/// <summary>
/// The JSON Pointer of a rule or of an item of one (<c>/tools/x</c>, <c>/tools/x/deny_if/0</c>,
/// <c>/tools/x/deny_if/0/conditions/1</c>), kept as the parts that make it and written when asked for: a refusal or an
/// explanation names a few rules, while a load makes one per rule and item. Two words: a reference to the key it is
/// made from (never a copy) and the rest packed in one number.
/// </summary>
internal readonly struct PolicyPointer
{
    // The sections a rule's pointer starts with, and the fields of a rule that hold items, by their code (0: none).
    private static readonly string[] Sections = ["", "/tools/", "/risk/", "/all_tools"];
    private static readonly string[] Fields = ["", "require", "deny_if", "require_approval_if", "limits", "rate_limit"];

    // The packed parts: section (2 bits), field (3 bits), then the item's index + 1 and the condition's index + 1 (29
    // bits each; 0 for none). A 4 MiB document holds fewer than 2^29 items of any array.
    private const int SectionBits = 2, FieldBits = 3, IndexBits = 29;
    private const long IndexMask = (1L << IndexBits) - 1;

    // The key (a tool name or category) when there is a section; else the pointer's whole text.
    private readonly string? _key;
    private readonly long _parts;

    private PolicyPointer(string? key, long parts)
    {
        _key = key;
        _parts = parts;
    }

    /// <summary>A pointer already written out.</summary>
    public static PolicyPointer Of(string text) => new(text, 0);

    /// <summary>The rule of <paramref name="key"/> (a tool name or risk category, escaped when written) in <c>/tools/</c>.</summary>
    public static PolicyPointer Tool(string key) => new(key, 1);

    /// <summary>The rule of the risk category <paramref name="key"/>, in <c>/risk/</c>.</summary>
    public static PolicyPointer Risk(string key) => new(key, 2);

    /// <summary><c>/all_tools</c>, whose <c>limits</c> are items like a rule's.</summary>
    public static PolicyPointer AllTools { get; } = new(null, 3);

    private int Section => (int)(_parts & 3);

    private int Field => (int)((_parts >> SectionBits) & 7);

    private int Index => (int)((_parts >> (SectionBits + FieldBits)) & IndexMask) - 1;

    private int Condition => (int)((_parts >> (SectionBits + FieldBits + IndexBits)) & IndexMask) - 1;

    /// <summary>The pointer's text, written now (the owner caches it where it is read on every call).</summary>
    public string Text => ToString();

    /// <summary>The field <paramref name="field"/> of the rule at this pointer (<c>/tools/x/rate_limit</c>).</summary>
    public PolicyPointer FieldOf(string field) => Item(field, -1);

    /// <summary>
    /// Item <paramref name="index"/> of the array <paramref name="field"/> of the object at this pointer
    /// (<c>/tools/x/limits/0</c>, <c>/tools/x/deny_if/0/conditions/1</c>), or its field <paramref name="field"/> when
    /// <paramref name="index"/> is -1.
    /// </summary>
    public PolicyPointer Item(string field, int index)
    {
        var code = Array.IndexOf(Fields, field);
        if (Section != 0 && Field == 0 && code > 0)
        {
            return new(_key, _parts | ((long)code << SectionBits) | ((long)(index + 1) << (SectionBits + FieldBits)));
        }

        if (Section != 0 && field == "conditions" && Index >= 0 && Condition < 0 && index >= 0)
        {
            return new(_key, _parts | ((long)(index + 1) << (SectionBits + FieldBits + IndexBits)));
        }

        // Deeper than the parts hold: written out now.
        var text = ToString();
        return Of(index < 0 ? $"{text}/{field}" : string.Create(CultureInfo.InvariantCulture, $"{text}/{field}/{index}"));
    }

    /// <summary>The pointer's text.</summary>
    public override string ToString()
    {
        if (Section == 0)
        {
            return _key ?? "";
        }

        var text = _key is null ? Sections[Section] : Sections[Section] + PolicyReaderV1.EscapePointer(_key);
        if (Field == 0)
        {
            return text;
        }

        text = Index < 0 ? $"{text}/{Fields[Field]}" : string.Create(CultureInfo.InvariantCulture, $"{text}/{Fields[Field]}/{Index}");
        return Condition < 0 ? text : string.Create(CultureInfo.InvariantCulture, $"{text}/conditions/{Condition}");
    }
}
