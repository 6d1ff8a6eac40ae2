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
    /// <summary>The executable under test instead of <c>dotnet policylayer.dll</c>, or <see langword="null"/>.</summary>
    public static string? Executable { get; } = Environment.GetEnvironmentVariable("POLICYLAYER_EXE") is { Length: > 0 } exe ? Path.GetFullPath(exe) : null;

    public static string Dll { get; } = Executable ?? Path.Combine(AppContext.BaseDirectory, "policylayer.dll");

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static string Sample(string name) => RepositoryPaths.SamplePolicy(name);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Executable ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        if (Executable is null)
        {
            start.ArgumentList.Add(Dll);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
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
            throw new TimeoutException($"policylayer {string.Join(' ', args)} did not exit within 90 s.");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    internal sealed record Result(int ExitCode, string Out, string Err)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
    }
}
