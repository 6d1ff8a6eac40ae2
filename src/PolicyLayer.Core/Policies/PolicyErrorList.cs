namespace PolicyLayer.Policies;

/// <summary>Collects every error of a document so that all are reported at once.</summary>
internal sealed class PolicyErrorList
{
    private readonly List<PolicyValidationError> _errors = [];

    public JsonSourceMap? Map { get; set; }

    public int Count => _errors.Count;

    public IReadOnlyList<PolicyValidationError> Errors => _errors;

    public void Add(PolicyValidationError error) => _errors.Add(error);

    public void Add(string path, (int Line, int Column) position, string message) =>
        _errors.Add(new PolicyValidationError(path, position.Line, position.Column, message));

    /// <summary>An error about the value at <paramref name="path"/>.</summary>
    public void AtValue(string path, string message) =>
        Add(path, Map?.ValuePosition(path) ?? (1, 1), message);

    /// <summary>An error about the property name at <paramref name="path"/>, such as an unknown field.</summary>
    public void AtKey(string path, string message) =>
        Add(path, Map?.KeyPosition(path) ?? (1, 1), message);

    public IReadOnlyList<PolicyValidationError> Sorted() =>
        [.. _errors.OrderBy(e => e.Line).ThenBy(e => e.Column)];
}
