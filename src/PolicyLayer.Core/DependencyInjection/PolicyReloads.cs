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
        if (_evaluator is null || (name is not null && name != Options.DefaultName))
        {
            return;
        }

        if (_evaluator.ShadowMode != options.ShadowMode)
        {
            _evaluator.ShadowMode = options.ShadowMode;
            PolicyLayerLog.ModeChanged(_logger, nameof(PolicyLayerOptions.ShadowMode), options.ShadowMode ? "on" : "off");
        }

        if (_evaluator.CounterStoreFailureMode != options.CounterStoreFailureMode && Enum.IsDefined(options.CounterStoreFailureMode))
        {
            _evaluator.CounterStoreFailureMode = options.CounterStoreFailureMode;
            PolicyLayerLog.ModeChanged(_logger, nameof(PolicyLayerOptions.CounterStoreFailureMode), options.CounterStoreFailureMode.ToString());
        }

        if (options.Policy is { } policy)
        {
            if (!ReferenceEquals(policy, _policy))
            {
                _policy = policy;
                _evaluator.UpdatePolicy(policy);
                PolicyLayerLog.Replaced(_logger, nameof(PolicyLayerOptions.Policy));
            }

            return;
        }

        if (options.PolicyPath is not { } path || string.Equals(path, _path, StringComparison.Ordinal))
        {
            return;
        }

        _path = path;
        if (Watcher is { } watcher)
        {
            watcher.ChangePath(path);
            return;
        }

        try
        {
            _evaluator.UpdatePolicy(PolicyDocument.Load(path));
            PolicyLayerLog.Replaced(_logger, nameof(PolicyLayerOptions.PolicyPath));
        }
        catch (PolicyValidationException ex)
        {
            PolicyLayerLog.ReloadRejected(_logger, path, ex.Errors.Count, Environment.NewLine + ex.Message);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            PolicyLayerLog.Unreadable(_logger, ex, path);
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        Watcher?.Dispose();
    }
}
