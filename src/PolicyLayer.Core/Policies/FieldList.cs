using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Policies;

/// <summary>
/// The fields one kind of policy object may have, in a fixed order: an object's fields are found in one pass over it
/// (<see cref="IndexOf(JsonProperty)"/>), each by its position, instead of one look-up per field.
/// </summary>
internal sealed class FieldList
{
    private readonly string[] _names;
    private readonly byte[][] _utf8;

    /// <param name="order">The fields in the order the reader indexes them.</param>
    public FieldList(params string[] order)
    {
        Known = order.ToFrozenSet(StringComparer.Ordinal);
        if (order.Length > MaxFields || Known.Count != order.Length)
        {
            throw new ArgumentException($"The fields ({string.Join(", ", order)}) must be distinct and at most {MaxFields}.", nameof(order));
        }

        _names = order;
        _utf8 = [.. order.Select(Encoding.UTF8.GetBytes)];
    }

    /// <summary>The most fields a list may have: a field's position fits in a 32-bit mask of the fields seen.</summary>
    public const int MaxFields = 32;

    /// <summary>How many fields there are: a list read into an <see cref="ObjectFields"/> has at most <see cref="ObjectFields.MaxFields"/>.</summary>
    public int Count => _names.Length;

    /// <summary>The fields, for error messages and the schema.</summary>
    public FrozenSet<string> Known { get; }

    /// <summary>The position of the unescaped name <paramref name="utf8"/> among the fields; -1 when unknown.</summary>
    public int IndexOf(ReadOnlySpan<byte> utf8)
    {
        for (var i = 0; i < _utf8.Length; i++)
        {
            if (utf8.SequenceEqual(_utf8[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The position of the property's name among the fields, found without copying the name into a string; -1 when unknown.</summary>
    public int IndexOf(JsonProperty property)
    {
        var utf8 = JsonMarshal.GetRawUtf8PropertyName(property);
        if (utf8.Length >= 2 && utf8[0] == (byte)'"')
        {
            utf8 = utf8[1..^1];
        }

        if (utf8.Contains((byte)'\\'))
        {
            // Escaped: compared unescaped, one known name at a time.
            for (var i = 0; i < _names.Length; i++)
            {
                if (property.NameEquals(_names[i]))
                {
                    return i;
                }
            }

            return -1;
        }

        for (var i = 0; i < _utf8.Length; i++)
        {
            if (utf8.SequenceEqual(_utf8[i]))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>The values of an object's known fields by their position in its <see cref="FieldList"/>; an absent field's value is undefined.</summary>
[InlineArray(MaxFields)]
internal struct ObjectFields
{
    /// <summary>The most fields any policy object has.</summary>
    public const int MaxFields = 8;

    private JsonElement _first;
}
