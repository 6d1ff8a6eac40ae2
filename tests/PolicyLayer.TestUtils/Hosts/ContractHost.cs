using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace PolicyLayer.TestUtils.Hosts;

/// <summary>
/// One host of the contract suite (the middleware over stdio or Streamable HTTP, the proxy, the HTTP gateway), started
/// with a policy in front of the contract server's tools (tests/PolicyLayer.ContractServer).
/// </summary>
public abstract class ContractHost : IAsyncDisposable
{
    /// <summary>Connects a client with <paramref name="client"/>'s name and capabilities.</summary>
    public abstract Task<McpClient> ConnectAsync(ContractClient client);

    /// <summary>
    /// Completes once the contract server started <paramref name="tool"/> (<paramref name="count"/> times in all). By
    /// default it looks at <see cref="StartCount"/> every 20 ms, for at most a minute (a safety net, not a bound under test).
    /// </summary>
    public virtual async Task WaitForToolStartAsync(string tool, int count = 1)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (StartCount(tool) < count)
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    /// <summary>How many times the contract server started <paramref name="tool"/>.</summary>
    public abstract int StartCount(string tool);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();
}

/// <summary>How a contract host is started.</summary>
public sealed record ContractHostSettings
{
    /// <summary>The policy, as JSON.</summary>
    public required string Policy { get; init; }

    /// <summary>Whether the host runs the policy in shadow mode.</summary>
    public bool ShadowMode { get; init; }

    /// <summary>The grant the callers are known by (the stdio process's credential; over HTTP, a claim of the caller's token); null for none.</summary>
    public string? Grant { get; init; } = "contract-grant";

    /// <summary>How long an approval request waits.</summary>
    public TimeSpan ApprovalTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>A client of the contract suite: its name, and how (whether) it answers elicitation requests.</summary>
public sealed record ContractClient
{
    /// <summary>The client's name (its agent id).</summary>
    public string Name { get; init; } = "contract-agent";

    /// <summary>The protocol version the client asks for; null for the SDK's newest.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>Answers elicitation requests; null: the client does not declare the elicitation capability.</summary>
    public Func<ElicitRequestParams?, CancellationToken, ValueTask<ElicitResult>>? Elicit { get; init; }

    /// <summary>The SDK client options for this client.</summary>
    public McpClientOptions ToOptions() => new()
    {
        ClientInfo = new Implementation { Name = Name, Version = "1" },
        ProtocolVersion = ProtocolVersion,
        Handlers = Elicit is null ? new McpClientHandlers() : new McpClientHandlers { ElicitationHandler = Elicit },
    };
}
