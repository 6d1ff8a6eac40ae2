using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PolicyLayer.Diagnostics;

namespace PolicyLayer.Policies;

/// <summary>
/// Watches a policy file by polling it on a <see cref="TimeProvider"/> timer, and puts each valid new version in
/// force through <see cref="PolicyEvaluator.UpdatePolicy"/>. An invalid version is refused, its errors logged with
/// line and column, and the last good version stays in force.
/// </summary>
/// <remarks>
/// <para>
/// A change is read only once the file has held still (the same stamp) for one poll interval, so that a file being
/// written is not read half-way; if it changes while being read, it is read again later. Polling rather than
/// <see cref="FileSystemWatcher"/>: it works the same on every file system (network shares, container volumes,
/// symlink swaps), uses no inotify handles, and tests drive it with a fake clock.
/// </para>
/// <para>
/// The stamp is the file's that the path finally names, every symbolic link along the path resolved (a Kubernetes
/// ConfigMap volume swaps a <c>..data</c> directory link, which leaves the links' own stamps untouched), and it
/// includes that resolved path. Every <see cref="ContentCheckEvery"/> polls the content is hashed even when the stamp
/// did not move, so a rewrite that kept size and times is still found.
/// </para>
/// </remarks>
internal sealed class PolicyFileWatcher : IDisposable
{
    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private string _path;
    private PolicyEvaluator? _evaluator;
    private Action<PolicyDocument>? _reloaded;
    private FileStamp _settled;
    private FileStamp? _pending;
    private byte[] _appliedHash;

    // The hash of the bytes last read at the settled stamp, applied or refused: what the periodic content check compares.
    private byte[] _settledHash;
    private int _pollsSinceContentCheck;
    private bool _disposed;

    /// <summary>Every how many polls the content is hashed even though the stamp did not change.</summary>
    internal const int ContentCheckEvery = 30;

    /// <summary>Loads the file's current version (throwing when it is invalid) and starts watching it.</summary>
    /// <param name="path">The policy file.</param>
    /// <param name="pollInterval">How often the file is looked at; a change lands one to two intervals after the last write.</param>
    /// <param name="time">The clock of the poll timer.</param>
    /// <param name="logger">Where reloads and refusals are logged.</param>
    /// <exception cref="PolicyValidationException">The file's current version is invalid.</exception>
    public PolicyFileWatcher(string path, TimeSpan pollInterval, TimeProvider time, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(pollInterval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(time);
        _logger = logger ?? NullLogger.Instance;
        _path = Path.GetFullPath(path);

        // The stamp is read before the bytes: a write that races the load shows up as a newer stamp and is read again.
        _settled = FileStamp.Read(_path);
        var bytes = File.ReadAllBytes(_settled.ResolvedPath ?? _path);
        Initial = PolicyDocument.Parse(bytes, path);
        _appliedHash = SHA256.HashData(bytes);
        _settledHash = _appliedHash;
        _timer = time.CreateTimer(static state => ((PolicyFileWatcher)state!).Poll(), this, pollInterval, pollInterval);
    }

    /// <summary>The version of the file that was in force when watching started.</summary>
    public PolicyDocument Initial { get; }

    /// <summary>The evaluator whose policy the watcher replaces; until it is attached, polls do nothing.</summary>
    /// <param name="evaluator">The evaluator.</param>
    /// <param name="reloaded">Runs (on the poll's thread) after each new version is in force; its failure is logged, never undoes the reload.</param>
    public void Attach(PolicyEvaluator evaluator, Action<PolicyDocument>? reloaded = null)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        lock (_gate)
        {
            _evaluator = evaluator;
            _reloaded = reloaded;
        }
    }

    /// <summary>Watches another file from now on; its first valid version is put in force at a later poll.</summary>
    public void ChangePath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        lock (_gate)
        {
            _path = Path.GetFullPath(path);
            _settled = default;
            _pending = null;
            _appliedHash = [];
            _settledHash = [];
        }
    }

    /// <summary>One look at the file. Runs on the timer; never throws.</summary>
    internal void Poll()
    {
        // Polls never overlap: a slow read makes the next tick skip, not queue.
        if (!_gate.TryEnter())
        {
            return;
        }

        try
        {
            if (_disposed || _evaluator is null)
            {
                return;
            }

            PollLocked(_evaluator);
        }
#pragma warning disable CA1031 // A timer callback that throws would end the process; the last good policy stays instead.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            PolicyLayerLog.Unreadable(_logger, ex, _path);
        }
        finally
        {
            _gate.Exit();
        }
    }

    private void PollLocked(PolicyEvaluator evaluator)
    {
        var stamp = FileStamp.Read(_path);
        if (stamp == _settled)
        {
            _pending = null;
            if (++_pollsSinceContentCheck >= ContentCheckEvery && stamp.Exists)
            {
                // The stamp can hold still while the bytes change (a rewrite within the file system's time resolution,
                // or times set back): now and then, look at the bytes themselves. A change found here is debounced as
                // usual, by a pending stamp that cannot equal the settled one.
                _pollsSinceContentCheck = 0;
                if (!SHA256.HashData(File.ReadAllBytes(stamp.ResolvedPath!)).AsSpan().SequenceEqual(_settledHash))
                {
                    _settled = default;
                }
            }

            return;
        }

        if (_pending != stamp)
        {
            // Changed since the last look: wait until it has held still for one interval.
            _pending = stamp;
            return;
        }

        _pending = null;
        if (!stamp.Exists)
        {
            _settled = stamp;
            PolicyLayerLog.Missing(_logger, _path);
            return;
        }

        byte[] bytes;
        try
        {
            // The file the stamp describes, not the path again: a link swapped since is caught by the stamp read below.
            bytes = File.ReadAllBytes(stamp.ResolvedPath!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Locked or replaced mid-read: _settled is unchanged, so the next polls try again.
            PolicyLayerLog.Unreadable(_logger, ex, _path);
            return;
        }

        var after = FileStamp.Read(_path);
        if (after != stamp)
        {
            _pending = after; // Written to while being read: what was read may be half of it.
            return;
        }

        _settled = stamp;
        _pollsSinceContentCheck = 0;
        var hash = SHA256.HashData(bytes);
        _settledHash = hash;
        if (hash.AsSpan().SequenceEqual(_appliedHash))
        {
            return; // Touched, not changed.
        }

        PolicyDocument policy;
        try
        {
            policy = PolicyDocument.Parse(bytes, _path);
        }
        catch (PolicyValidationException ex)
        {
            // Refused until the file changes again; the version in force is untouched.
            PolicyLayerLog.ReloadRejected(_logger, _path, ex.Errors.Count, FormatErrors(_path, ex.Errors));
            return;
        }

        evaluator.UpdatePolicy(policy);
        _appliedHash = hash;
        PolicyLayerLog.Reloaded(_logger, _path);
        try
        {
            _reloaded?.Invoke(policy);
        }
#pragma warning disable CA1031 // A failing listener must not make the watcher report the file as unreadable: the new version is in force.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            PolicyLayerLog.ReloadListenerFailed(_logger, ex, _path);
        }
    }

    /// <summary>One line per error, <c>FILE:LINE:COL: PATH: message</c>, as <c>policylayer validate</c> prints them.</summary>
    private static string FormatErrors(string path, IReadOnlyList<PolicyValidationError> errors)
    {
        var text = new StringBuilder();
        foreach (var error in errors)
        {
            text.AppendLine().Append(path).Append(':').Append(error.ToString());
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _timer.Dispose();
    }

    /// <summary>
    /// What is compared between polls: the path with every symbolic link resolved, whether that file exists, its size
    /// and its last-write and creation times (the file's own, never a link's).
    /// </summary>
    internal readonly record struct FileStamp(string? ResolvedPath, bool Exists, long Length, DateTime LastWriteUtc, DateTime CreatedUtc)
    {
        /// <summary>The most links followed while resolving one path, as Linux's <c>MAXSYMLINKS</c>.</summary>
        private const int MaxLinks = 40;

        public static FileStamp Read(string path)
        {
            var resolved = ResolveLinks(path);
            var info = new FileInfo(resolved);
            return info.Exists
                ? new FileStamp(resolved, true, info.Length, info.LastWriteTimeUtc, info.CreationTimeUtc)
                : new FileStamp(resolved, false, 0, default, default);
        }

        /// <summary>
        /// The path with every symbolic link in it resolved, directories included (a <c>..data</c> link in the middle
        /// of the path counts as much as the last component); a dangling link resolves to where it points.
        /// </summary>
        /// <exception cref="IOException">More than <see cref="MaxLinks"/> links: a loop.</exception>
        internal static string ResolveLinks(string path)
        {
            var full = Path.GetFullPath(path);
            var root = Path.GetPathRoot(full) ?? string.Empty;
            var pending = new Stack<string>(Split(full[root.Length..]).Reverse());
            var current = root;
            var links = 0;
            while (pending.TryPop(out var part))
            {
                if (part == ".")
                {
                    continue;
                }

                if (part == "..")
                {
                    current = Path.GetDirectoryName(current) ?? root;
                    continue;
                }

                var next = Path.Combine(current, part);
                var target = new FileInfo(next).LinkTarget;
                if (target is null)
                {
                    current = next;
                    continue;
                }

                if (++links > MaxLinks)
                {
                    throw new IOException($"Too many levels of symbolic links resolving '{path}' (more than {MaxLinks}).");
                }

                // The target replaces this component; a relative one is resolved from the link's directory.
                if (Path.IsPathRooted(target))
                {
                    var targetRoot = Path.GetPathRoot(target) ?? string.Empty;
                    current = targetRoot;
                    target = target[targetRoot.Length..];
                }

                foreach (var segment in Split(target).Reverse())
                {
                    pending.Push(segment);
                }
            }

            return current;
        }

        private static string[] Split(string path) =>
            path.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
    }
}
