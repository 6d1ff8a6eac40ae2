using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PolicyLayer.Diagnostics;
using PolicyLayer.Policies;

namespace PolicyLayer;

/// <summary>
/// Keeps the registered evaluator's policy current: the watched file (when <see cref="PolicyLayerOptions.WatchPolicyFile"/>),
/// and changes of <see cref="PolicyLayerOptions.Policy"/> or <see cref="PolicyLayerOptions.PolicyPath"/> through
/// <see cref="IOptionsMonitor{TOptions}"/>. A singleton, so the container stops it when it is disposed.
/// </summary>
internal sealed class PolicyReloads : IDisposable
{
    private IDisposable? _subscription;
    private PolicyEvaluator? _evaluator;
    private ILogger _logger = NullLogger.Instance;
    private PolicyDocument? _policy;
    private string? _path;

    public PolicyFileWatcher? Watcher { get; set; }

    public void Start(PolicyEvaluator evaluator, IOptionsMonitor<PolicyLayerOptions> monitor, PolicyLayerOptions current, ILogger? logger)
    {
        _evaluator = evaluator;
        _logger = logger ?? NullLogger.Instance;
        _policy = current.Policy;
        _path = current.PolicyPath;
        Watcher?.Attach(evaluator);
        _subscription = monitor.OnChange(OnOptionsChanged);
    }

    /// <summary>
    /// A new <see cref="PolicyLayerOptions.Policy"/> is put in force at once; a new <see cref="PolicyLayerOptions.PolicyPath"/>
    /// is watched (and loaded at a later poll) when watching, else loaded now. Whatever does not load leaves the policy in force.
    /// A change of <see cref="PolicyLayerOptions.ShadowMode"/> or <see cref="PolicyLayerOptions.CounterStoreFailureMode"/>
    /// applies to the calls that start after it.
    /// </summary>
    private void OnOptionsChanged(PolicyLayerOptions options, string? name)
    {
        if (_evaluator is not { } evaluator || (name is not null && name != Options.DefaultName))
        {
            return;
        }

        var shadowChanged = evaluator.ShadowMode != options.ShadowMode;
        var failureMode = Enum.IsDefined(options.CounterStoreFailureMode) ? options.CounterStoreFailureMode : evaluator.CounterStoreFailureMode;
        var failureModeChanged = evaluator.CounterStoreFailureMode != failureMode;
        var (policy, source) = NewPolicy(options);

        // One snapshot: the new policy and the new modes are put in force together.
        evaluator.Reconfigure(policy, options.ShadowMode, failureMode);
        if (shadowChanged)
        {
            PolicyLayerLog.ModeChanged(_logger, nameof(PolicyLayerOptions.ShadowMode), options.ShadowMode ? "on" : "off");
        }

        if (failureModeChanged)
        {
            PolicyLayerLog.ModeChanged(_logger, nameof(PolicyLayerOptions.CounterStoreFailureMode), failureMode.ToString());
        }

        if (policy is not null)
        {
            PolicyLayerLog.Replaced(_logger, source!);
        }
    }

    /// <summary>The policy the changed options put in force now, and the option that named it; null when none.</summary>
    private (PolicyDocument? Policy, string? Source) NewPolicy(PolicyLayerOptions options)
    {
        if (options.Policy is { } policy)
        {
            if (ReferenceEquals(policy, _policy))
            {
                return default;
            }

            _policy = policy;
            return (policy, nameof(PolicyLayerOptions.Policy));
        }

        if (options.PolicyPath is not { } path || string.Equals(path, _path, StringComparison.Ordinal))
        {
            return default;
        }

        _path = path;
        if (Watcher is { } watcher)
        {
            // Loaded, and put in force, at a later poll.
            watcher.ChangePath(path);
            return default;
        }

        try
        {
            return (PolicyDocument.Load(path), nameof(PolicyLayerOptions.PolicyPath));
        }
        catch (PolicyValidationException ex)
        {
            PolicyLayerLog.ReloadRejected(_logger, path, ex.Errors.Count, Environment.NewLine + ex.Message);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            PolicyLayerLog.Unreadable(_logger, ex, path);
        }

        return default;
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        Watcher?.Dispose();
    }
}
