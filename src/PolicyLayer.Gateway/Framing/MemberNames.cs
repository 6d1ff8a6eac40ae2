using System.Text;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// The member names of one object that a strict <see cref="JsonRpcScanner"/> has read so far, for its check that no name
/// repeats another, exactly or in another case. The first few names, when each is plain ASCII written without escapes
/// (the names of every ordinary message), are kept as offsets into the line and compared byte for byte, ignoring ASCII
/// case, which is what <see cref="StringComparer.OrdinalIgnoreCase"/> does for ASCII. Any other name, or a name past
/// the first few, moves the object to a case-insensitive hash set of strings, holding the same names in the same order:
/// the check decides exactly as it would with the set alone, in O(n) for an object of n members.
/// </summary>
internal sealed class MemberNames
{
    /// <summary>How many names are compared in place (pairwise, so at most 28 comparisons) before the set takes over.</summary>
    internal const int InPlaceLimit = 8;

    private static readonly string[] EnvelopeMembers = ["jsonrpc", "id", "method", "params", "result", "error"];

    private readonly (int Start, int Length)[] _inPlace = new (int, int)[InPlaceLimit];
    private readonly bool _inPlaceAllowed;
    private int _count;
    private HashSet<string>? _set;
    private bool _inSet;

    /// <param name="inPlaceAllowed">Whether names may be compared in place; tests turn it off to compare the two ways.</param>
    public MemberNames(bool inPlaceAllowed = true) => _inPlaceAllowed = inPlaceAllowed;

    /// <summary>How many names the set holds, or the in-place list; a pool keeps only small ones.</summary>
    public int Count => _inSet ? _set!.Count : _count;

    /// <summary>Forgets every name, for the next object.</summary>
    public void Clear()
    {
        _count = 0;
        _inSet = false;
        _set?.Clear();
    }

    /// <summary>
    /// Adds the property name <paramref name="reader"/> is on (in <paramref name="line"/>, the whole span it reads), and
    /// says why it is ambiguous: it repeats a name of the object, exactly or in another case, or (at the root) it is a
    /// case variant of a JSON-RPC member. <see langword="null"/> when it is not.
    /// </summary>
    public string? Add(ReadOnlySpan<byte> line, ref Utf8JsonReader reader, bool isRoot)
    {
        var name = reader.ValueSpan;
        if (!_inSet && _inPlaceAllowed && _count < InPlaceLimit && !reader.ValueIsEscaped && Ascii.IsValid(name))
        {
            var start = (int)reader.TokenStartIndex + 1;
            string? problem = null;
            for (var i = 0; i < _count; i++)
            {
                var seen = line.Slice(_inPlace[i].Start, _inPlace[i].Length);
                if (Ascii.EqualsIgnoreCase(seen, name))
                {
                    // The first name of its case-insensitive class, as the set would hold it.
                    problem = Repeated(Encoding.ASCII.GetString(seen), Encoding.ASCII.GetString(name));
                    break;
                }
            }

            _inPlace[_count++] = (start, name.Length);
            return problem ?? (isRoot ? EnvelopeVariant(name) : null);
        }

        if (!_inSet)
        {
            // From here on the set decides, holding every name so far in the order read.
            _set ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < _count; i++)
            {
                _set.Add(Encoding.ASCII.GetString(line.Slice(_inPlace[i].Start, _inPlace[i].Length)));
            }

            _inSet = true;
        }

        var text = reader.GetString()!;
        var found = _set!.TryGetValue(text, out var first) ? Repeated(first, text) : isRoot ? EnvelopeVariant(text) : null;
        _set.Add(text);
        return found;
    }

    private static string Repeated(string seen, string name) => string.Equals(seen, name, StringComparison.Ordinal)
        ? $"Invalid request: the member \"{name}\" appears twice in one object; a server could read either value."
        : $"Invalid request: the members \"{seen}\" and \"{name}\" differ only in case; a server could read either value.";

    private static string? EnvelopeVariant(ReadOnlySpan<byte> name)
    {
        foreach (var member in EnvelopeMembers)
        {
            if (name.Length == member.Length && Ascii.EqualsIgnoreCase(name, member) && !Ascii.Equals(name, member))
            {
                return EnvelopeVariantProblem(Encoding.ASCII.GetString(name), member);
            }
        }

        return null;
    }

    private static string? EnvelopeVariant(string name)
    {
        foreach (var member in EnvelopeMembers)
        {
            if (string.Equals(member, name, StringComparison.OrdinalIgnoreCase) && !string.Equals(member, name, StringComparison.Ordinal))
            {
                return EnvelopeVariantProblem(name, member);
            }
        }

        return null;
    }

    private static string EnvelopeVariantProblem(string name, string member) =>
        $"Invalid request: \"{name}\" is not a JSON-RPC member, but a case-insensitive reader would take it for \"{member}\".";
}
