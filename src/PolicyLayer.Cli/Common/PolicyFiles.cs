namespace PolicyLayer.Cli.Common;

/// <summary>Loads policy files for the commands, printing load errors as <c>FILE:LINE:COL: PATH: message</c>.</summary>
internal static class PolicyFiles
{
    /// <summary>Loads <paramref name="path"/>, or prints its errors to stderr and returns null. A file that cannot be read throws <see cref="UsageException"/>.</summary>
    public static PolicyDocument? TryLoad(string path, TextWriter errors)
    {
        try
        {
            return PolicyDocument.Load(path);
        }
        catch (PolicyValidationException ex)
        {
            WriteErrors(path, ex, errors);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: cannot read the policy: {Describe(ex)}", ex);
        }
    }

    /// <summary>Reads a text input file (cases, an Intercept policy); one that cannot be read throws <see cref="UsageException"/> naming <paramref name="what"/>.</summary>
    public static string ReadText(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: cannot read the {what}: {Describe(ex)}", ex);
        }
    }

    public static void WriteErrors(string path, PolicyValidationException exception, TextWriter errors)
    {
        foreach (var error in exception.Errors)
        {
            errors.WriteLine($"{path}:{error.Line}:{error.Column}: {error.Path}: {error.Message}");
        }
    }

    public static string Describe(Exception ex) => ex switch
    {
        FileNotFoundException => "file not found",
        DirectoryNotFoundException => "directory not found",
        UnauthorizedAccessException => "access denied",
        _ => ex.Message,
    };
}
