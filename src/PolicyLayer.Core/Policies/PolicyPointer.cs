using System.Globalization;

namespace PolicyLayer.Policies;

/// <summary>
/// The JSON Pointer of a rule or of an item of one (<c>/tools/x</c>, <c>/tools/x/deny_if/0</c>,
/// <c>/tools/x/deny_if/0/conditions/1</c>), kept as the parts that make it and written on first use: a refusal or an
/// explanation names a few rules, while a load makes one per rule and item. Holds a reference to the key it is made
/// from, never a copy.
/// </summary>
/// <remarks>
/// A mutable struct held in a field of its owner, so that <see cref="Text"/> caches the text there. Two threads may
/// both write it; they write equal texts, and either may win.
/// </remarks>
internal struct PolicyPointer
{
    private const int None = -1;

    private readonly string? _owner;
    private readonly string? _key;
    private readonly string? _field;
    private readonly int _index;
    private readonly int _condition;
    private string? _text;

    private PolicyPointer(string? owner, string? key, string? field, int index, int condition, string? text)
    {
        _owner = owner;
        _key = key;
        _field = field;
        _index = index;
        _condition = condition;
        _text = text;
    }

    /// <summary>A pointer already written out.</summary>
    public static PolicyPointer Of(string text) => new(null, null, null, None, None, text);

    /// <summary>The rule of <paramref name="key"/> (a tool name or risk category, escaped on use) in the section <paramref name="section"/>, such as <c>/tools/</c>.</summary>
    public static PolicyPointer Rule(string section, string key) => new(section, key, null, None, None, null);

    /// <summary>The pointer's text, written now if it was not before.</summary>
    public string Text => _text ??= Write();

    /// <summary>The field <paramref name="field"/> of the object at this pointer (<c>/tools/x/rate_limit</c>).</summary>
    public readonly PolicyPointer Field(string field) => Item(field, None);

    /// <summary>
    /// Item <paramref name="index"/> of the array <paramref name="field"/> of the object at this pointer
    /// (<c>/tools/x/limits/0</c>), or its field <paramref name="field"/> when <paramref name="index"/> is -1.
    /// </summary>
    public readonly PolicyPointer Item(string field, int index)
    {
        if (_owner is not null && _field is null)
        {
            return new(_owner, _key, field, index, None, null);
        }

        if (_owner is not null && field == "conditions" && _index != None && _condition == None && index != None)
        {
            return new(_owner, _key, _field, _index, index, null);
        }

        // Deeper than the parts hold: written out now.
        var text = _text ?? Write();
        return Of(index == None ? $"{text}/{field}" : string.Create(CultureInfo.InvariantCulture, $"{text}/{field}/{index}"));
    }

    private readonly string Write()
    {
        var text = _key is null ? _owner ?? "" : _owner + PolicyReaderV1.EscapePointer(_key);
        if (_field is null)
        {
            return text;
        }

        text = _index == None ? $"{text}/{_field}" : string.Create(CultureInfo.InvariantCulture, $"{text}/{_field}/{_index}");
        return _condition == None ? text : string.Create(CultureInfo.InvariantCulture, $"{text}/conditions/{_condition}");
    }

    /// <inheritdoc/>
    public override readonly string ToString() => _text ?? Write();
}
