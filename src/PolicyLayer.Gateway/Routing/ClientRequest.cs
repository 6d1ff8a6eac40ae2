using PolicyLayer.Gate;

namespace PolicyLayer.Gateway;

/// <summary>
/// A request of the client that the gateway has accepted and not yet seen answered: held for approval, or forwarded to
/// the server under an id of the gateway's own (<see cref="ServerId"/>), so that the server's answer can only be matched
/// to it, never to another request that happens to carry the same id.
/// </summary>
internal sealed class ClientRequest(string clientIdKey, ReadOnlyMemory<byte> clientId, RequestKind kind)
{
    /// <summary>The client's id as a key (<see cref="JsonRpcScanner.IdKey"/>).</summary>
    public string ClientIdKey { get; } = clientIdKey;

    /// <summary>The client's id exactly as it wrote it, for the answer.</summary>
    public ReadOnlyMemory<byte> ClientId { get; } = clientId;

    public RequestKind Kind { get; } = kind;

    /// <summary>The id the server was sent, once forwarded; 0 until then.</summary>
    public long ServerId { get; set; }

    /// <summary>For a forwarded tools/call, the gate's verdict: settled when the server answers.</summary>
    public GateVerdict? Verdict { get; set; }

    /// <summary>Whether the client cancelled the request (while it was decided or held for approval).</summary>
    public bool CancelledByClient { get; private set; }

    /// <summary>Cancels the deciding of a tools/call (an approval it waits for, among others).</summary>
    public CancellationTokenSource? Deciding { get; set; }

    /// <summary>The client cancelled the request before it was forwarded.</summary>
    public void Cancel()
    {
        CancelledByClient = true;
        try
        {
            Deciding?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Decided meanwhile.
        }
    }
}
