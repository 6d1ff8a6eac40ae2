using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.ContractServer;
using PolicyLayer.TestUtils.Hosts;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>The host contract suite on the middleware (<c>WithPolicyLayer</c>) over the stdio transport.</summary>
public sealed class StdioMiddlewareContractTests : HostContractTests
{
    protected override Task<ContractHost> StartHostAsync(ContractHostSettings settings) =>
        Task.FromResult<ContractHost>(new StdioMiddlewareHost(settings));

    /// <summary>
    /// The contract tools behind <c>WithPolicyLayer</c>, over the stdio stream transport, in process. A stdio server has
    /// one client, so each client gets a server of its own, as each would start its own process; the servers share one
    /// counter store, as processes on one Redis would, so that session scopes are what keeps their counts apart.
    /// </summary>
    internal sealed class StdioMiddlewareHost(ContractHostSettings settings) : ContractHost
    {
        private readonly List<InProcessMcpServer> _servers = [];
        private readonly ContractLog _log = new();
        private readonly InMemoryCounterStore _store = new();

        public override async Task<McpClient> ConnectAsync(ContractClient client)
        {
            var server = new InProcessMcpServer();
            _servers.Add(server);
            var services = new ServiceCollection();
            services.AddSingleton(_log);
            server.AddServer(services)
                .WithTools<ContractTools>()
                .WithPolicyLayer(options =>
                {
                    options.Policy = PolicyDocument.Parse(settings.Policy);
                    options.CounterStore = _store;
                    options.DefaultGrantId = settings.Grant;
                    options.ApprovalTimeout = settings.ApprovalTimeout;
                    options.ShadowMode = settings.ShadowMode;
                });
            server.Start(services);
            return await server.ConnectAsync(client.ToOptions());
        }

        public override Task WaitForToolStartAsync(string tool, int count = 1) => _log.WaitForStartAsync(tool, count);

        public override int StartCount(string tool) => _log.Count(tool);

        public override async ValueTask DisposeAsync()
        {
            foreach (var server in _servers)
            {
                await server.DisposeAsync();
            }

            _store.Dispose();
        }
    }
}
