using System.Collections.Concurrent;
using System.Globalization;
using ModelContextProtocol.Client;
using PolicyLayer.ContractServer;
using PolicyLayer.TestUtils.Hosts;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>
/// The host contract suite on <c>policylayer proxy</c>: the real process in front of the contract server as its child, driven by
/// the SDK's client over stdio.
/// </summary>
[NonParallelizable]
[Category(Policylayer.ProcessLevel)]
public sealed class ProxyContractTests : HostContractTests
{
    protected override Task<ContractHost> StartHostAsync(ContractHostSettings settings) => Task.FromResult<ContractHost>(new ProxyHost(settings));

    /// <summary>One proxy process per client, with the contract server as its child.</summary>
    private sealed class ProxyHost(ContractHostSettings settings) : ContractHost
    {
        private readonly string _work = Directory.CreateTempSubdirectory("policylayer-contract-").FullName;
        private readonly ConcurrentQueue<string> _started = new();
        private readonly List<McpClient> _clients = [];

        public override async Task<McpClient> ConnectAsync(ContractClient client)
        {
            var policy = Path.Combine(_work, "policy.json");
            await File.WriteAllTextAsync(policy, settings.Policy);
            List<string> arguments = [.. Policylayer.ProgramArguments, "proxy", "--policy", policy, "--approval-timeout", settings.ApprovalTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)];
            if (settings.Grant is { } grant)
            {
                arguments.AddRange(["--grant", grant]);
            }

            if (settings.ShadowMode)
            {
                // The proxy's shadow mode records its decisions in the audit log, so it needs one.
                arguments.AddRange(["--shadow", "--audit-log", Path.Combine(_work, "audit.jsonl")]);
            }

            arguments.AddRange(["--", "dotnet", Path.Combine(AppContext.BaseDirectory, "PolicyLayer.ContractServer.dll")]);
            var transport = new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = Policylayer.Program,
                Arguments = arguments,
                WorkingDirectory = AppContext.BaseDirectory,
                EnvironmentVariables = new Dictionary<string, string?> { ["POLICYLAYER_GRANT"] = null, ["DOTNET_NOLOGO"] = "1" },
                StandardErrorLines = line =>
                {
                    if (line.StartsWith(ContractLog.StartedPrefix, StringComparison.Ordinal))
                    {
                        _started.Enqueue(line[ContractLog.StartedPrefix.Length..]);
                    }
                },
            });
            var connected = await McpClient.CreateAsync(transport, client.ToOptions());
            _clients.Add(connected);
            return connected;
        }

        public override int StartCount(string tool) => _started.Count(t => t == tool);

        public override async ValueTask DisposeAsync()
        {
            foreach (var client in _clients)
            {
                await client.DisposeAsync();
            }

            Directory.Delete(_work, recursive: true);
        }
    }
}
