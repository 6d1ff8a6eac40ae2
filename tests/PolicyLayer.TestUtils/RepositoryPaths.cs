namespace PolicyLayer.TestUtils;

/// <summary>Finds files of the repository from a test's output folder.</summary>
public static class RepositoryPaths
{
    /// <summary>The repository's root: the folder that holds PolicyLayer.Core.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>A path below the repository's root.</summary>
    public static string Get(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>A sample policy file in samples/policies.</summary>
    public static string SamplePolicy(string fileName) => Get("samples", "policies", fileName);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PolicyLayer.Core.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("PolicyLayer.Core.sln not found above " + AppContext.BaseDirectory);
    }
}
