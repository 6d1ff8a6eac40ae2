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

    /// <summary>The contract tools behind <c>WithPolicyLayer</c>, over the stdio stream transport, in process.</summary>
    internal sealed class StdioMiddlewareHost : ContractHost
    {
        private readonly InProcessMcpServer _server = new();
        private readonly ContractLog _log = new();

        public StdioMiddlewareHost(ContractHostSettings settings)
        {
            var services = new ServiceCollection();
            services.AddSingleton(_log);
            _server.AddServer(services)
                .WithTools<ContractTools>()
                .WithPolicyLayer(options =>
                {
                    options.Policy = PolicyDocument.Parse(settings.Policy);
                    options.DefaultGrantId = settings.Grant;
                    options.ApprovalTimeout = settings.ApprovalTimeout;
                });
            services.AddPolicyLayer(o => o.ShadowMode = settings.ShadowMode);
            _server.Start(services);
        }

        public override async Task<McpClient> ConnectAsync(ContractClient client) =>
            await _server.ConnectAsync(client.ToOptions());

        public override async Task WaitForToolStartAsync(string tool, int count = 1)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnStarted(string name)
            {
                if (_log.Count(tool) >= count)
                {
                    started.TrySetResult();
                }
            }

            _log.ToolStarted += OnStarted;
            try
            {
                OnStarted(tool);
                await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            finally
            {
                _log.ToolStarted -= OnStarted;
            }
        }

        public override int StartCount(string tool) => _log.Count(tool);

        public override ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
