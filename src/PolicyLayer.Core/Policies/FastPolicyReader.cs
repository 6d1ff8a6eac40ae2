namespace PolicyLayer.Policies;

/// <summary>
/// The load of a valid policy at parser speed: one pass of a <see cref="System.Text.Json.Utf8JsonReader"/> over the
/// document. It declines (null) whatever it does not accept as valid, and the full read then reports the errors.
/// </summary>
internal static class FastPolicyReader
{
    /// <summary>The compiled policy, or null when the document is not one this reader accepts (the full read decides).</summary>
    public static CompiledPolicy? TryRead(ReadOnlySpan<byte> utf8) => PolicyReaderV1.TryReadFast(utf8);
}
