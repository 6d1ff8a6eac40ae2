using Microsoft.Extensions.DependencyInjection.Extensions;
using PolicyLayer;
using PolicyLayer.Gateway;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the webhook approver.</summary>
public static class PolicyLayerWebhookApproverServiceCollectionExtensions
{
    /// <summary>
    /// Posts every call held in the approvals inbox, signed, to a webhook (a chat tool, a ticket system), and accepts the
    /// answer on the signed, single-use callback that <c>MapPolicyLayerApprovals</c> maps at <c>callback</c>. Registers
    /// the inbox (<c>AddPolicyLayerApprovals</c>) if the host has not.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the URL and the secret, at least.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentException">An option is missing or out of range; the message names it.</exception>
    public static IServiceCollection AddPolicyLayerWebhookApprover(this IServiceCollection services, Action<WebhookApproverOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new WebhookApproverOptions();
        configure(options);
        if (options.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(configure));
        }

        services.AddPolicyLayerApprovals();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IApprovalNotifier>(sp => new WebhookApprovalNotifier(options, new HttpClient(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new WebhookCallback(options, sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
