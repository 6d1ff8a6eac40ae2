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
            sp.GetRequiredService<IOptions<PolicyLayerMcpOptions>>().Value));

        // The gate goes first in the alternate-result pipeline, which runs before the Tasks extension creates a
        // task: a task-backed call is decided before it starts. The policy loads when the server is built.
        services.AddOptions<McpServerOptions>().Configure<IServiceProvider>(static (options, sp) =>
        {
            var gate = sp.GetRequiredService<PolicyFilters>();
            options.Filters.Request.CallToolWithAlternateFilters.Insert(0, gate.GateAsync);
        });

        // After the SDK's own set-up has filled the tool collection: a reload that changes what tools/list shows is announced.
        services.AddOptions<McpServerOptions>().PostConfigure<IServiceProvider>(static (options, sp) =>
            sp.GetRequiredService<ToolListAnnouncer>().Adopt(options));

        // Around the tool and around tools/list, in the order the host registered its own filters; bound to the one
        // PolicyFilters of the server's services here, not looked up per call.
        services.AddOptions<McpServerOptions>().Configure<IServiceProvider>(static (options, sp) =>
        {
            var gate = sp.GetRequiredService<PolicyFilters>();
            options.Filters.Request.CallToolFilters.Add(next => (context, cancellationToken) => gate.WrapToolAsync(context, next, cancellationToken));
            options.Filters.Request.ListToolsFilters.Add(next => async (context, cancellationToken) =>
                gate.FilterList(await next(context, cancellationToken).ConfigureAwait(false)));
        });

        return builder;
    }
}
