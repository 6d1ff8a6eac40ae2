using System.Text.Json;

namespace PolicyLayer.Policies;

/// <summary>
/// Reads one schema version of the policy format. Each version has its own reader beside the others,
/// so that adding version "2" never changes what a version "1" document means.
/// </summary>
internal interface IPolicyReader
{
    /// <summary>The value of <c>version</c> this reader handles.</summary>
    string Version { get; }

    /// <summary>Validates and compiles the document; every problem goes to <paramref name="errors"/>.</summary>
    /// <param name="root">The document, parsed with duplicate keys allowed.</param>
    /// <param name="errors">Where every problem goes.</param>
    /// <param name="duplicateKeys">
    /// Whether an object the reader read has a key twice. When the read succeeds the reader has seen every object, so
    /// <see cref="DuplicateKeys.Outcome.None"/> then means the document has none; after errors it may have stopped short.
    /// </param>
    /// <returns>The compiled policy, or null when any error was found.</returns>
    CompiledPolicy? Read(JsonElement root, PolicyErrorList errors, out DuplicateKeys.Outcome duplicateKeys);
}
