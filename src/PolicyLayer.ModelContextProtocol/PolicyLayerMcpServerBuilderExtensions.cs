using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;
using PolicyLayer;
using PolicyLayer.Gate;
using PolicyLayer.Mcp;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts PolicyLayer in front of the tools of an MCP server built with the official C# SDK.</summary>
public static class PolicyLayerMcpServerBuilderExtensions
{
    /// <summary>
    /// Enforces a policy on the server's tools: every tools/call is decided before the tool runs (a refusal reaches
    /// the agent as a tool error starting <c>[POLICY DENIED]</c>), a failed tool's units are given back, calls held
    /// for approval go to the approver, and tools/list leaves out what the policy hides and (unless
    /// <see cref="PolicyLayerMcpOptions.FilterToolsList"/> is off) what it denies outright.
    /// Registers the PolicyLayer services with <c>AddPolicyLayer</c>.
    /// </summary>
    /// <param name="builder">The MCP server builder.</param>
    /// <param name="configure">Sets the options: at least the policy path or document.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IMcpServerBuilder WithPolicyLayer(this IMcpServerBuilder builder, Action<PolicyLayerMcpOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<PolicyLayerMcpOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PolicyLayerMcpOptions>, PolicyLayerMcpOptionsValidator>());

        // The host's own registrations (or the options' store) come first; AddPolicyLayer only adds what is missing.
        services.TryAddSingleton<CounterStore>(sp =>
            sp.GetRequiredService<IOptions<PolicyLayerMcpOptions>>().Value.CounterStore
            ?? new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = sp.GetRequiredService<TimeProvider>() }));
        services.AddPolicyLayer();
        // One path: these options go into the core's, whose snapshot the evaluator decides under and reloads rebuild.
        services.AddOptions<PolicyLayerOptions>().Configure<IOptions<PolicyLayerMcpOptions>>(static (core, mcp) =>
        {
            var options = mcp.Value;
            core.PolicyPath ??= options.PolicyPath;
            core.Policy ??= options.Policy;
            core.ShadowMode |= options.ShadowMode;
            core.WatchPolicyFile |= options.WatchPolicyFile;
            if (options.CounterStoreFailureMode != CounterStoreFailureMode.FailClosed)
            {
                core.CounterStoreFailureMode = options.CounterStoreFailureMode;
            }
        });

        services.TryAddSingleton(sp =>
            sp.GetRequiredService<IOptions<PolicyLayerMcpOptions>>().Value.IdentityResolver
            ?? new DefaultCallerIdentityResolver(sp.GetRequiredService<IOptions<PolicyLayerMcpOptions>>().Value));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PolicyLayerMcpOptions>>().Value;
            var approver = options.ApprovalHandler ?? sp.GetService<IApprovalHandler>();
            return new ToolCallGate(
                sp.GetRequiredService<PolicyEvaluator>(),
                new ToolCallGateOptions
                {
                    Route = (GateApprovalRoute)options.ApprovalRoundTrip,
                    ApprovalTimeout = options.ApprovalTimeout,
                    SigningKey = options.ApprovalSigningKey,
                    Approver = approver is null ? null : new ApprovalHandlerAdapter(approver),
                    Inbox = sp.GetService<ApprovalInbox>(),
                },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>());
        });
        services.TryAddSingleton(sp => new ToolListAnnouncer(
            sp.GetRequiredService<ToolCallGate>(),
            sp.GetRequiredService<IOptions<PolicyLayerMcpOptions>>().Value,
            sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(sp => new PolicyFilters(
            sp.GetRequiredService<ToolCallGate>(),
            sp.GetRequiredService<ICallerIdentityResolver>(),
            sp.GetRequiredService<IOptions<PolicyLayerMcpOptions>>().Value,
            sp.GetRequiredService<ToolListAnnouncer>()));

        // A stateless server builds these options for every request, so each step below costs per request there: none
        // looks a service up more than once, copies the tools or lists them against the policy.
        // First of all set-ups, before the SDK collects the server's tools: it fills the announcing collection it finds,
        // so that a reload that changes what tools/list shows can be announced without copying the tools.
        if (!services.Any(static d => d.ServiceType == typeof(IConfigureOptions<McpServerOptions>) && d.ImplementationType == typeof(ToolCollectionSeed)))
        {
            services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<McpServerOptions>, ToolCollectionSeed>());
        }

        // The filters, in the order the host registered its own; bound to the one PolicyFilters of the server's services
        // (the policy loads when the server is built), not looked up per call.
        services.AddOptions<McpServerOptions>().Configure<IServiceProvider>(static (options, sp) =>
            sp.GetRequiredService<PolicyFilters>().AddTo(options.Filters.Request));

        // After every other set-up: a tool collection the host made itself is made able to announce (a copy).
        services.AddOptions<McpServerOptions>().PostConfigure(static options => ToolListAnnouncer.Adopt(options));

        return builder;
    }
}
