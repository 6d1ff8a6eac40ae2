using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PolicyLayer;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers PolicyLayer in a service collection.</summary>
public static class PolicyLayerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="PolicyEvaluator"/> and its defaults (<see cref="TimeProvider.System"/>,
    /// an <see cref="InMemoryCounterStore"/>, <see cref="ToolRiskClassifier.Default"/>); each default yields
    /// to a registration the host made itself.
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
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PolicyLayerOptions>>().Value;
            var policy = options.Policy
                ?? (options.PolicyPath is { } path
                    ? PolicyDocument.Load(path)
                    : throw new InvalidOperationException("PolicyLayer needs a policy: set PolicyLayerOptions.PolicyPath or PolicyLayerOptions.Policy."));
            return new PolicyEvaluator(policy, new PolicyEvaluatorOptions
            {
                TimeProvider = sp.GetRequiredService<TimeProvider>(),
                CounterStore = sp.GetRequiredService<CounterStore>(),
                Classifier = sp.GetRequiredService<ToolRiskClassifier>(),
                CounterStoreFailureMode = options.CounterStoreFailureMode,
                ShadowMode = options.ShadowMode,
                LoggerFactory = sp.GetService<ILoggerFactory>(),
            });
        });
        return new PolicyLayerBuilder(services);
    }

    private sealed class PolicyLayerBuilder(IServiceCollection services) : IPolicyLayerBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
