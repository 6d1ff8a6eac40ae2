namespace PolicyLayer;

public sealed partial class PolicyDocument
{
    /// <summary>The schema versions this library reads.</summary>
    public static IReadOnlyList<string> SupportedVersions { get; } = ["1"];

    /// <summary>Parses a policy document from JSON text.</summary>
    /// <param name="json">The document.</param>
    /// <param name="sourcePath">The file it came from, for error messages; optional.</param>
    /// <exception cref="PolicyValidationException">The document is invalid; every error is reported.</exception>
    public static PolicyDocument Parse(string json, string? sourcePath = null) => throw new NotImplementedException();

    /// <summary>Loads a policy document from a file.</summary>
    /// <param name="path">The file's path.</param>
    /// <exception cref="PolicyValidationException">The document is invalid; every error is reported.</exception>
    public static PolicyDocument Load(string path) => throw new NotImplementedException();

    /// <summary>Loads a policy document from a stream of UTF-8 JSON.</summary>
    /// <param name="stream">The stream; read to its end, not closed.</param>
    /// <param name="sourcePath">The file it came from, for error messages; optional.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="PolicyValidationException">The document is invalid; every error is reported.</exception>
    public static Task<PolicyDocument> LoadAsync(Stream stream, string? sourcePath = null, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();
}
