using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PolicyLayer;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers out-of-band approvals: the <see cref="ApprovalInbox"/> that hosts hold calls in.</summary>
public static class PolicyLayerApprovalsServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="ApprovalInbox"/>: calls the policy holds for approval then wait for a person in the inbox
    /// (the web page of <c>MapPolicyLayerApprovals</c>, a webhook) instead of being asked of the client. The store is an
    /// <see cref="InMemoryApprovalStore"/> unless the host registered an <see cref="ApprovalStore"/> (such as the Redis one);
    /// every registered <see cref="IApprovalNotifier"/> is told of each held call. Options are validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the hold mode, time-out and bounds.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddPolicyLayerApprovals(this IServiceCollection services, Action<ApprovalInboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<ApprovalInboxOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApprovalInboxOptions>, OptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ApprovalStore>(static sp =>
            new InMemoryApprovalStore(new InMemoryApprovalStoreOptions { TimeProvider = sp.GetRequiredService<TimeProvider>() }));
        services.TryAddSingleton(static sp => new ApprovalInbox(
            sp.GetRequiredService<ApprovalStore>(),
            sp.GetRequiredService<IOptions<ApprovalInboxOptions>>().Value,
            sp.GetServices<IApprovalNotifier>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        return services;
    }

    private sealed class OptionsValidator : IValidateOptions<ApprovalInboxOptions>
    {
        public ValidateOptionsResult Validate(string? name, ApprovalInboxOptions options) =>
            ApprovalInbox.Validate(options) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
