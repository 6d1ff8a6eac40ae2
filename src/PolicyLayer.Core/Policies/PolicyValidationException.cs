namespace PolicyLayer;

/// <summary>One thing wrong in a policy document, with where it is.</summary>
/// <param name="Path">The JSON path of the offending value, such as <c>$.tools.create_refund.limits[0].max</c>.</param>
/// <param name="Line">The 1-based line of the offending value (0 when unknown).</param>
/// <param name="Column">The 1-based column of the offending value (0 when unknown).</param>
/// <param name="Message">What is wrong and what was expected.</param>
public sealed record PolicyValidationError(string Path, int Line, int Column, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Line}:{Column}: {Path}: {Message}";
}

/// <summary>A policy document that does not load, with every error found in it.</summary>
public sealed class PolicyValidationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">The errors; at least one.</param>
    /// <param name="source">The file the document came from, if any.</param>
    public PolicyValidationException(IReadOnlyList<PolicyValidationError> errors, string? source = null)
        : base(FormatMessage(errors, source))
    {
        Errors = errors;
        FilePath = source;
    }

    /// <summary>Creates the exception.</summary>
    public PolicyValidationException()
        : this([new PolicyValidationError("$", 0, 0, "The policy is invalid.")])
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The error message.</param>
    public PolicyValidationException(string message)
        : this([new PolicyValidationError("$", 0, 0, message)])
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The error message.</param>
    /// <param name="innerException">The cause.</param>
    public PolicyValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new PolicyValidationError("$", 0, 0, message)];
    }

    /// <summary>Every error found, in document order.</summary>
    public IReadOnlyList<PolicyValidationError> Errors { get; }

    /// <summary>The file the document came from, or <see langword="null"/> when it was parsed from text.</summary>
    public string? FilePath { get; }

    private static string FormatMessage(IReadOnlyList<PolicyValidationError> errors, string? source)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var prefix = source is null ? string.Empty : source + ":";
        var lines = errors.Select(e => $"{prefix}{e}");
        return $"The policy document is invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):{Environment.NewLine}"
            + string.Join(Environment.NewLine, lines);
    }
}
