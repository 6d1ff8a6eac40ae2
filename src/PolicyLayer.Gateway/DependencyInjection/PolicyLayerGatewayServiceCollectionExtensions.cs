using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PolicyLayer.Gateway;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the HTTP gateway; <c>MapPolicyLayerGateway</c> serves it.</summary>
public static class PolicyLayerGatewayServiceCollectionExtensions
{
    /// <summary>
    /// Registers the HTTP gateway with its options. Calls are decided by the <see cref="PolicyLayer.PolicyEvaluator"/> that
    /// <c>AddPolicyLayer</c> registers (with its counter store: the Redis one lets several gateway instances share limits).
    /// The options are validated when the application starts.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the upstream, the credentials accepted and the bounds.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddPolicyLayerGateway(this IServiceCollection services, Action<PolicyLayerGatewayOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<PolicyLayerGatewayOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PolicyLayerGatewayOptions>, GatewayOptionsValidation>());
        services.TryAddSingleton<GatewayHost>();
        return services;
    }

    private sealed class GatewayOptionsValidation : IValidateOptions<PolicyLayerGatewayOptions>
    {
        public ValidateOptionsResult Validate(string? name, PolicyLayerGatewayOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException ex)
            {
                return ValidateOptionsResult.Fail(ex.Message);
            }
        }
    }
}
