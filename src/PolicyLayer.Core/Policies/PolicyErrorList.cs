namespace PolicyLayer.Policies;

/// <summary>Collects every error of a document so that all are reported at once.</summary>
internal sealed class PolicyErrorList
{
    private readonly List<PolicyValidationError> _errors = [];

    private JsonSourceMap? _map;
    private ReadOnlyMemory<byte>? _unmapped;

    /// <summary>
    /// Where the document's values stand, for the errors' line and column. A document that parsed cleanly is mapped only
    /// once an error needs a position (see <see cref="MapOnDemand"/>): a valid document never pays for the map.
    /// </summary>
    public JsonSourceMap? Map
    {
        get
        {
            if (_map is null && _unmapped is not null)
            {
                // The document parsed, so the scan finds nothing to report; its list is a throwaway.
                _map = JsonSourceMap.Scan(_unmapped.Value, new PolicyErrorList());
                _unmapped = null;
            }

            return _map;
        }

        set => _map = value;
    }

    /// <summary>Maps <paramref name="utf8"/> when, and only when, the first error needs a position.</summary>
    public void MapOnDemand(ReadOnlyMemory<byte> utf8) => _unmapped = utf8;

    public int Count => _errors.Count;

    public IReadOnlyList<PolicyValidationError> Errors => _errors;

    public void Add(PolicyValidationError error) => _errors.Add(error);

    public void Add(string path, (int Line, int Column) position, string message) =>
        _errors.Add(new PolicyValidationError(path, position.Line, position.Column, message));

    /// <summary>An error about the value at <paramref name="path"/>.</summary>
    public void AtValue(string path, string message) =>
        Add(path, Map?.ValuePosition(path) ?? (1, 1), message);

    /// <summary>An error about the value at <paramref name="path"/>, whose text is built only now.</summary>
    public void AtValue(LazyJsonPath path, string message) => AtValue(path.ToString(), message);

    /// <summary>An error about the property name at <paramref name="path"/>, whose text is built only now.</summary>
    public void AtKey(LazyJsonPath path, string message) => AtKey(path.ToString(), message);

    /// <summary>An error about the property name at <paramref name="path"/>, such as an unknown field.</summary>
    public void AtKey(string path, string message) =>
        Add(path, Map?.KeyPosition(path) ?? (1, 1), message);

    public IReadOnlyList<PolicyValidationError> Sorted() =>
        [.. _errors.OrderBy(e => e.Line).ThenBy(e => e.Column)];
}
