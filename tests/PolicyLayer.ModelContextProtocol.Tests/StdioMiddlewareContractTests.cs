using System.IO.Pipelines;
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
        private readonly Pipe _toServer = new();
        private readonly Pipe _toClient = new();
        private readonly CancellationTokenSource _cts = new();
        private readonly ServiceProvider _provider;
        private readonly Task _serverTask;
        private readonly ContractLog _log = new();

        public StdioMiddlewareHost(ContractHostSettings settings)
        {
            var services = new ServiceCollection();
            services.AddSingleton(_log);
            services.AddMcpServer()
                .WithStreamServerTransport(_toServer.Reader.AsStream(), _toClient.Writer.AsStream())
                .WithTools<ContractTools>()
                .WithPolicyLayer(options =>
                {
                    options.Policy = PolicyDocument.Parse(settings.Policy);
                    options.DefaultGrantId = settings.Grant;
                    options.ApprovalTimeout = settings.ApprovalTimeout;
                });
            services.AddPolicyLayer(o => o.ShadowMode = settings.ShadowMode);
            _provider = services.BuildServiceProvider();
            _serverTask = _provider.GetRequiredService<McpServer>().RunAsync(_cts.Token);
        }

        public override async Task<McpClient> ConnectAsync(ContractClient client) =>
            await McpClient.CreateAsync(new StreamClientTransport(_toServer.Writer.AsStream(), _toClient.Reader.AsStream()), client.ToOptions());

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

        public override async ValueTask DisposeAsync()
        {
            await _cts.CancelAsync();
            _toServer.Writer.Complete();
            _toClient.Writer.Complete();
            try
            {
                await _serverTask;
            }
            catch (OperationCanceledException)
            {
            }

            await _provider.DisposeAsync();
            _cts.Dispose();
        }
    }
}
