namespace PolicyLayer.Policies;

/// <summary>
/// The one message a host stops with when its policy file does not load: it names PolicyLayer, the option that names the
/// file, the file's full path, and what is wrong with it (every validation error, with line and column).
/// </summary>
internal static class PolicyFileProblem
{
    /// <summary>Loads <paramref name="path"/>, or throws <see cref="InvalidOperationException"/> with the message of <see cref="Describe"/>.</summary>
    public static PolicyDocument Load(string option, string path) => Load(option, path, static p => PolicyDocument.Load(p));

    /// <summary>Runs <paramref name="load"/> on <paramref name="path"/>, or throws <see cref="InvalidOperationException"/> with the message of <see cref="Describe"/>.</summary>
    public static T Load<T>(string option, string path, Func<string, T> load)
    {
        try
        {
            return load(path);
        }
        catch (Exception ex) when (IsLoadFailure(ex))
        {
            throw new InvalidOperationException(Describe(option, path, ex), ex);
        }
    }

    /// <summary>Whether <paramref name="exception"/> says that a policy file is missing, unreadable or invalid.</summary>
    public static bool IsLoadFailure(Exception exception) =>
        exception is PolicyValidationException or IOException or UnauthorizedAccessException or System.Security.SecurityException;

    /// <summary>What is wrong with the policy file at <paramref name="path"/>, named by <paramref name="option"/>.</summary>
    public static string Describe(string option, string path, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var fullPath = Path.GetFullPath(path);
        var what = exception switch
        {
            FileNotFoundException or DirectoryNotFoundException => "does not exist.",
            PolicyValidationException invalid => $"does not load ({invalid.Errors.Count} error{(invalid.Errors.Count == 1 ? "" : "s")}):"
                + string.Concat(invalid.Errors.Select(e => $"{Environment.NewLine}  {path}:{e}")),
            _ => $"cannot be read: {exception.Message}",
        };
        return $"PolicyLayer cannot start: the policy file named by {option} ({fullPath}) {what}";
    }
}
