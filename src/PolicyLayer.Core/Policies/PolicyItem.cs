namespace PolicyLayer.Policies;

/// <summary>An item of a rule (a predicate, a condition, a limit): it has a JSON Pointer, written each time it is asked for.</summary>
internal abstract class PolicyItem
{
    /// <summary>The item's JSON Pointer, such as <c>/tools/create_refund/deny_if/0</c> (a bare condition's is its predicate's).</summary>
    /// <remarks>Written anew on each use: only refusals and explanations name an item, and they write text anyway.</remarks>
    public string Pointer
    {
        get => PointerParts.Text;
        init => PointerParts = PolicyPointer.Of(value);
    }

    /// <summary>The parts <see cref="Pointer"/> is written from (the reader keeps no text per item).</summary>
    public PolicyPointer PointerParts { get; init; }
}
