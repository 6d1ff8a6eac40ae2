using System.Text.Json;
using PolicyLayer.Gateway;

namespace PolicyLayer.TestUtils.Gateway;

/// <summary>
/// A test's view of a gateway with a <see cref="FakeChild"/> behind it, whatever the front: the stdio front
/// (<see cref="GatewayHarness"/>) or Streamable HTTP (<see cref="HttpGatewayHarness"/>). Messages are sent in order and
/// everything the gateway writes to the client is received in one stream of lines.
/// </summary>
public interface IGatewayTestClient : IDisposable
{
    /// <summary>The server behind the gateway (for HTTP, the one of the session the test opened).</summary>
    FakeChild Child { get; }

    /// <summary>The gateway session of the test.</summary>
    McpGatewaySession Gateway { get; }

    /// <summary>Sends one line (several, separated by newlines, are sent one by one, in order).</summary>
    void Send(string line);

    /// <summary>Sends raw bytes as one message.</summary>
    void SendBytes(byte[] bytes);

    /// <summary>The next message the gateway wrote to the client, as it was written.</summary>
    Task<string> ReceiveLineAsync();

    /// <summary>The next message the gateway wrote to the client.</summary>
    async Task<JsonElement> ReceiveAsync() => JsonDocument.Parse(await ReceiveLineAsync()).RootElement;

    /// <summary>Sends a request and returns the next message the client gets.</summary>
    async Task<JsonElement> RequestAsync(string line)
    {
        Send(line);
        return await ReceiveAsync();
    }

    /// <summary>Sends initialize (and initialized) and waits for the answer.</summary>
    Task<JsonElement> InitializeAsync(string? clientName = "test-client", bool elicitation = false);

    /// <summary>Sends ping and waits for its answer: every earlier message has been handled by then.</summary>
    Task SyncAsync(string id = "\"sync\"");
}
