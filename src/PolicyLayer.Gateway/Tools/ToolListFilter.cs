using System.Text.Json;
using PolicyLayer.Gate;

namespace PolicyLayer.Gateway;

/// <summary>
/// What the client sees of the server's tools: tools/list answers filtered through the policy, and, when the policy can
/// change during the session, the initialize answer declaring <c>listChanged</c> and the record of what the client was
/// shown, so that a reload that shows or hides a tool it has seen can be announced.
/// </summary>
internal sealed class ToolListFilter
{
    private readonly ToolCallGate _gate;
    private readonly bool _announceListChanges;
    private readonly Func<ToolDescriptor, bool> _isListed;

    /// <summary>Every tool the client has been sent in a tools/list answer, by name, with whether it was listed.</summary>
    private readonly Dictionary<string, SeenTool> _seenTools = new(StringComparer.Ordinal);
    private readonly Lock _seenLock = new();

    private volatile bool _listChangedDeclared;

    public ToolListFilter(ToolCallGate gate, bool announceListChanges)
    {
        _gate = gate;
        _announceListChanges = announceListChanges;
        _isListed = IsListedAndSeen;
    }

    /// <summary>Whether the client expects <c>notifications/tools/list_changed</c> (the initialize answer it got declared it).</summary>
    public bool ListChangedDeclared => _listChangedDeclared;

    /// <summary>Writes the server's tools/list answer <paramref name="text"/> to the client with only the tools the policy lists.</summary>
    public async ValueTask WriteFilteredAsync(PeerWriter toClient, ReadOnlyMemory<byte> text, ReadOnlyMemory<byte> clientId)
    {
        using var document = JsonDocument.Parse(text);
        await toClient.WriteAsync((document.RootElement, clientId, _isListed), static (json, state) => ToolListing.WriteFiltered(json, state.RootElement, state.clientId, state._isListed)).ConfigureAwait(false);
    }

    /// <summary>
    /// Relays the server's answer to initialize with <c>capabilities.tools.listChanged: true</c> when list changes are
    /// announced, since a reload of the policy can change the list even when the server's tools never do. Returns false
    /// when nothing needs rewriting (the caller relays it unchanged; a server that declares no tools is never announced).
    /// </summary>
    public async ValueTask<bool> TryRelayInitializeResultAsync(PeerWriter toClient, ReadOnlyMemory<byte> text, ReadOnlyMemory<byte> clientId)
    {
        if (!_announceListChanges)
        {
            return false;
        }

        using var document = JsonDocument.Parse(text);
        if (!ToolListing.DeclaresTools(document.RootElement, out var listChanged))
        {
            return false;
        }

        _listChangedDeclared = true;
        if (listChanged)
        {
            return false;
        }

        await toClient.WriteAsync((document.RootElement, clientId), static (json, state) => ToolListing.WriteDeclaringListChanged(json, state.RootElement, state.clientId)).ConfigureAwait(false);
        return true;
    }

    /// <summary>The server's list changed: the client lists again, and what it saw before is no longer what it knows.</summary>
    public void ForgetSeen()
    {
        lock (_seenLock)
        {
            _seenTools.Clear();
        }
    }

    /// <summary>A new version of the policy is in force: whether it shows or hides a tool the client has seen.</summary>
    public bool SeenListingChanged()
    {
        if (!_announceListChanges)
        {
            return false;
        }

        var changed = false;
        lock (_seenLock)
        {
            foreach (var seen in _seenTools.Values.ToArray())
            {
                var listed = _gate.IsListed(seen.Tool, filterDenied: true);
                if (listed != seen.Listed)
                {
                    _seenTools[seen.Tool.Name] = seen with { Listed = listed };
                    changed = true;
                }
            }
        }

        return changed;
    }

    /// <summary>Whether tools/list shows <paramref name="tool"/>; remembers the answer when list changes are announced.</summary>
    private bool IsListedAndSeen(ToolDescriptor tool)
    {
        if (!_announceListChanges)
        {
            return _gate.IsListed(tool, filterDenied: true);
        }

        // Decided and remembered under the lock that SeenListingChanged compares under: an answer given under the old
        // version is either compared (and announced if it changed) or given under the new one, never missed.
        lock (_seenLock)
        {
            var listed = _gate.IsListed(tool, filterDenied: true);
            _seenTools[tool.Name] = new SeenTool(tool, listed);
            return listed;
        }
    }
}
