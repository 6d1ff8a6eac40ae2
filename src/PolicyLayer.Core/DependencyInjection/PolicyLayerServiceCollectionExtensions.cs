using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PolicyLayer;
using PolicyLayer.Diagnostics;
using PolicyLayer.Policies;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers PolicyLayer in a service collection.</summary>
public static class PolicyLayerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="PolicyEvaluator"/> and its defaults (<see cref="TimeProvider.System"/>,
    /// an <see cref="InMemoryCounterStore"/>, <see cref="ToolRiskClassifier.Default"/>); each default yields
    /// to a registration the host made itself. The evaluator logs through the container's <see cref="ILoggerFactory"/>
    /// and meters through its <see cref="IMeterFactory"/> when it has them.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options, such as the policy path.</param>
    /// <returns>A builder to configure the counter store and more.</returns>
    public static IPolicyLayerBuilder AddPolicyLayer(this IServiceCollection services, Action<PolicyLayerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<PolicyLayerOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(ToolRiskClassifier.Default);
        services.TryAddSingleton<CounterStore>(sp =>
            new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = sp.GetRequiredService<TimeProvider>() }));
        services.TryAddSingleton<PolicyReloads>();
        services.TryAddSingleton(sp =>
        {
            var monitor = sp.GetRequiredService<IOptionsMonitor<PolicyLayerOptions>>();
            var options = monitor.CurrentValue;
            var time = sp.GetRequiredService<TimeProvider>();
            var loggerFactory = sp.GetService<ILoggerFactory>();
            var reloads = sp.GetRequiredService<PolicyReloads>();
            PolicyDocument policy;
            if (options.Policy is { } given)
            {
                policy = given;
            }
            else if (options.PolicyPath is not { } path)
            {
                throw new InvalidOperationException("PolicyLayer needs a policy: set PolicyLayerOptions.PolicyPath or PolicyLayerOptions.Policy.");
            }
            else if (options.WatchPolicyFile)
            {
                var watcher = PolicyFileProblem.Load(PolicyPathOption, path, p =>
                    new PolicyFileWatcher(p, options.PolicyFilePollInterval, time, loggerFactory?.CreateLogger(PolicyLayerLog.ReloadCategory)));
                reloads.Watcher = watcher;
                policy = watcher.Initial;
            }
            else
            {
                policy = PolicyFileProblem.Load(PolicyPathOption, path);
            }

            var evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions
            {
                TimeProvider = time,
                CounterStore = sp.GetRequiredService<CounterStore>(),
                Classifier = sp.GetRequiredService<ToolRiskClassifier>(),
                CounterStoreFailureMode = options.CounterStoreFailureMode,
                ShadowMode = options.ShadowMode,
                LoggerFactory = loggerFactory,
                LogArgumentValues = options.LogArgumentValues,
                MeterFactory = sp.GetService<IMeterFactory>(),
            });
            reloads.Start(evaluator, monitor, options, loggerFactory?.CreateLogger(PolicyLayerLog.ReloadCategory));
            return evaluator;
        });
        return new PolicyLayerBuilder(services);
    }

    private const string PolicyPathOption = nameof(PolicyLayerOptions) + "." + nameof(PolicyLayerOptions.PolicyPath);

    private sealed class PolicyLayerBuilder(IServiceCollection services) : IPolicyLayerBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
