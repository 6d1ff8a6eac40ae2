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

    /// <summary>
    /// The built program of a sample project, <c>samples/NAME/bin/CONFIGURATION/TFM/NAME.dll</c>, in the configuration
    /// and target framework of the running test. Run it from there, with its own runtimeconfig and dependencies: a test
    /// project that references the sample may not copy all of them (the shared frameworks of the two can differ).
    /// </summary>
    public static string SampleProgram(string project)
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Get("samples", project, "bin", output.Parent!.Name, output.Name, project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"The sample {project} is not built: build the test project, which references it.", path);
    }

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
