using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using ModelContextProtocol.Client;
using PolicyLayer.ContractServer;
using PolicyLayer.TestUtils.Hosts;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>
/// The host contract suite on <c>policylayer proxy --listen</c>: the real process serving Streamable HTTP on a free loopback
/// port, the contract server as the child of each session, driven by the SDK's own client over HTTP with a JWT the test
/// signs (the user, and the contract's grant as the <c>grant_id</c> claim).
/// </summary>
[NonParallelizable]
[Category(Policylayer.ProcessLevel)]
public sealed partial class HttpProxyContractTests : HostContractTests
{
    private const string SigningKey = "policylayer-http-contract-signing-key-32+";
    private const string Audience = "policylayer-contract";
    private const string Issuer = "policylayer-tests";

    protected override Task<ContractHost> StartHostAsync(ContractHostSettings settings) => HttpProxyHost.StartAsync(settings);

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex Listening();

    /// <summary>One proxy process serving HTTP; every client a session of its own, with its own contract server.</summary>
    private sealed class HttpProxyHost : ContractHost
    {
        private readonly string _work;
        private readonly Process _proxy;
        private readonly ConcurrentQueue<string> _started = new();
        private readonly TaskCompletionSource<Uri> _endpoint = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<McpClient> _clients = [];
        private string? _grant;

        private HttpProxyHost(string work, Process proxy)
        {
            _work = work;
            _proxy = proxy;
        }

        public static async Task<ContractHost> StartAsync(ContractHostSettings settings)
        {
            var work = Directory.CreateTempSubdirectory("policylayer-http-contract-").FullName;
            var policy = Path.Combine(work, "policy.json");
            await File.WriteAllTextAsync(policy, settings.Policy);
            var info = new ProcessStartInfo(Policylayer.Program)
            {
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            info.Environment["POLICYLAYER_GRANT"] = null;
            info.Environment["DOTNET_NOLOGO"] = "1";
            List<string> arguments = [.. Policylayer.ProgramArguments, "proxy", "--listen", "http://127.0.0.1:0/mcp", "--policy", policy, "--approval-timeout", settings.ApprovalTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)];

            // Over HTTP every caller is named by a credential: here a JWT, whose grant claim is the contract's grant.
            arguments.AddRange(["--jwt-signing-key", SigningKey, "--jwt-audience", Audience, "--jwt-issuer", Issuer]);
            if (settings.ShadowMode)
            {
                arguments.AddRange(["--shadow", "--audit-log", Path.Combine(work, "audit.jsonl")]);
            }

            arguments.AddRange(["--", "dotnet", Path.Combine(AppContext.BaseDirectory, "PolicyLayer.ContractServer.dll")]);
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            var host = new HttpProxyHost(work, Process.Start(info)!) { _grant = settings.Grant };
            host._proxy.ErrorDataReceived += (_, e) => host.OnStderr(e.Data);
            host._proxy.BeginErrorReadLine();
            await host._endpoint.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return host;
        }

        public override async Task<McpClient> ConnectAsync(ContractClient client)
        {
            var claims = new Dictionary<string, object> { ["sub"] = "contract-user" };
            if (_grant is not null)
            {
                claims["grant_id"] = _grant;
            }

            var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = Issuer,
                Audience = Audience,
                Claims = claims,
                SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SigningKey)), SecurityAlgorithms.HmacSha256),
            });
            var transport = new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = await _endpoint.Task,
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
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

            try
            {
                _proxy.Kill(entireProcessTree: true);
                await _proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (InvalidOperationException)
            {
                // Exited already.
            }

            _proxy.Dispose();
            Directory.Delete(_work, recursive: true);
        }

        private void OnStderr(string? line)
        {
            if (line is null)
            {
                _endpoint.TrySetException(new InvalidOperationException("policylayer proxy ended before it listened."));
                return;
            }

            if (line.StartsWith(ContractLog.StartedPrefix, StringComparison.Ordinal))
            {
                _started.Enqueue(line[ContractLog.StartedPrefix.Length..]);
            }
            else if (Listening().Match(line) is { Success: true } match)
            {
                _endpoint.TrySetResult(new Uri(match.Groups[1].Value));
            }
        }
    }
}
