using System.Diagnostics;
using PolicyLayer.TestUtils;

namespace PolicyLayer.Cli.Tests;

/// <summary>
/// Runs the built tool as a process (<c>dotnet policylayer.dll ...</c>), as a user or a CI script would; or, when the
/// environment variable <c>POLICYLAYER_EXE</c> names one, that executable (the NativeAOT build, from
/// scripts/publish-native.sh), so that the same tests check it.
/// </summary>
internal static class Policylayer
{
    /// <summary>
    /// The category of the fixtures that run the tool as a process: test.sh runs them a second time against the NativeAOT
    /// binary (<c>--filter TestCategory=ProcessLevel</c> with <c>POLICYLAYER_EXE</c> set).
    /// </summary>
    public const string ProcessLevel = "ProcessLevel";

    /// <summary>The executable under test instead of <c>dotnet policylayer.dll</c>, or <see langword="null"/>.</summary>
    public static string? Executable { get; } = Environment.GetEnvironmentVariable("POLICYLAYER_EXE") is { Length: > 0 } exe ? Path.GetFullPath(exe) : null;

    public static string Dll { get; } = Executable ?? Path.Combine(AppContext.BaseDirectory, "policylayer.dll");

    /// <summary>The program that starts the tool: the executable under test, else the dotnet host.</summary>
    public static string Program => Executable ?? DotnetHost;

    /// <summary>The arguments <see cref="Program"/> takes before the tool's own: the tool's dll under dotnet, none for an executable.</summary>
    public static IReadOnlyList<string> ProgramArguments => Executable is null ? [Dll] : [];

    /// <summary>The dotnet host that runs the tests (so that tests run under the SDK they were built with), else <c>dotnet</c> on PATH.</summary>
    public static string DotnetHost { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static string Sample(string name) => RepositoryPaths.SamplePolicy(name);

    public static Task<Result> RunAsync(params string[] args) => RunAsync(StartInfo(args));

    /// <summary>How <see cref="RunAsync(string[])"/> starts the tool, for a test that adds to it (an environment variable).</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var start = new ProcessStartInfo(Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in ProgramArguments.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        return start;
    }

    /// <summary>Runs <paramref name="start"/> (its output redirected) with no input, to its end or 90 s.</summary>
    public static async Task<Result> RunAsync(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.RedirectStandardInput = true;
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not exit within 90 s.");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    internal sealed record Result(int ExitCode, string Out, string Err)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
    }
}
