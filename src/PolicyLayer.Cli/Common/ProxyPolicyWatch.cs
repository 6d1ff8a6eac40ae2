using PolicyLayer.Policies;

namespace PolicyLayer.Cli.Common;

/// <summary>
/// <c>--watch</c>: Core's <see cref="PolicyFileWatcher"/> on the proxy's policy file, the same watcher the library's hosts
/// use (a valid new version put in force atomically, an invalid or half-written one never), with its reload events
/// written to the proxy's standard error and a callback once a new version is in force (the watcher's own).
/// </summary>
internal sealed class ProxyPolicyWatch : IDisposable
{
    /// <summary>The default of <c>--watch-interval</c>: the library's default poll interval.</summary>
    public static readonly TimeSpan DefaultInterval = new PolicyLayerOptions().PolicyFilePollInterval;

    private readonly PolicyFileWatcher _watcher;

    /// <summary>Loads the file's current version and starts polling it.</summary>
    /// <param name="path">The policy file.</param>
    /// <param name="pollInterval">How often the file is looked at; a change lands one to two intervals after the last write.</param>
    /// <param name="time">The clock of the poll timer.</param>
    /// <param name="diagnostics">Where reloads and refused versions are reported, one <c>policylayer proxy:</c> line each.</param>
    /// <exception cref="PolicyValidationException">The file's current version is invalid.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    public ProxyPolicyWatch(string path, TimeSpan pollInterval, TimeProvider time, TextWriter? diagnostics)
    {
        _watcher = new PolicyFileWatcher(path, pollInterval, time, new StderrLogger(diagnostics));
    }

    /// <summary>The version in force when watching started.</summary>
    public PolicyDocument Initial => _watcher.Initial;

    /// <summary>Starts replacing <paramref name="evaluator"/>'s policy; <paramref name="reloaded"/> runs after each new version is in force.</summary>
    public void Attach(PolicyEvaluator evaluator, Action? reloaded) =>
        _watcher.Attach(evaluator, reloaded is null ? null : _ => reloaded());

    /// <summary>Stops watching.</summary>
    public void Dispose() => _watcher.Dispose();
}
