using System.Globalization;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// The server's tool descriptors, read by the gateway's own tools/list (all pages, under ids of the gateway's own) the
/// first time a call needs them and again after the server says its list changed. Calls that need them wait
/// asynchronously; nothing blocks a thread.
/// </summary>
internal sealed class ToolCatalogue(PeerWriter toServer, IdCounter serverIds, TimeSpan timeout, TimeProvider time)
{
    /// <summary>The most pages one refresh reads: a server that pages forever cannot keep a call waiting forever.</summary>
    private const int MaxPages = 1000;

    private readonly Lock _lock = new();
    private volatile IReadOnlyDictionary<string, ToolDescriptor>? _tools;
    private ToolRefresh? _refresh;

    /// <summary>The descriptors, or the reason there are none (the server did not answer in time, or its output ended).</summary>
    public async ValueTask<(IReadOnlyDictionary<string, ToolDescriptor>? Tools, string? Problem)> GetAsync()
    {
        if (_tools is { } tools)
        {
            return (tools, null);
        }

        ToolRefresh refresh;
        var start = false;
        lock (_lock)
        {
            if (_tools is { } fresh)
            {
                return (fresh, null);
            }

            if (_refresh is null)
            {
                _refresh = new ToolRefresh();
                start = true;
            }

            refresh = _refresh;
        }

        if (start)
        {
            await RequestPageAsync(refresh, cursor: null).ConfigureAwait(false);
        }

        try
        {
            return (await refresh.Completion.Task.WaitAsync(timeout, time).ConfigureAwait(false), null);
        }
        catch (TimeoutException)
        {
            lock (_lock)
            {
                if (ReferenceEquals(_refresh, refresh))
                {
                    _refresh = null;
                }
            }

            return (null, $"The server did not answer the proxy's tools/list within {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s, so the call cannot be classified.");
        }
        catch (InvalidOperationException ex)
        {
            return (null, ex.Message);
        }
    }

    /// <summary>Whether <paramref name="serverId"/> is the id of the page request in progress.</summary>
    public bool IsPageId(long serverId)
    {
        lock (_lock)
        {
            return _refresh is { } refresh && refresh.PageId == serverId;
        }
    }

    /// <summary>The server's answer to a page request: reads the page and asks for the next, or completes the refresh.</summary>
    public async ValueTask OnPageAsync(ReadOnlyMemory<byte> text, long serverId, bool hasResult)
    {
        ToolRefresh? refresh;
        lock (_lock)
        {
            refresh = _refresh;
        }

        if (refresh is null || refresh.PageId != serverId)
        {
            return;
        }

        string? next = null;
        if (hasResult)
        {
            using var document = JsonDocument.Parse(text);
            next = ToolListing.ReadPage(document.RootElement.GetProperty("result"), refresh.Tools);
        }

        // A server without tools answers with an error: it has no descriptors, and no tools to call either.
        if (next is not null && refresh.Pages++ < MaxPages)
        {
            await RequestPageAsync(refresh, next).ConfigureAwait(false);
            return;
        }

        lock (_lock)
        {
            if (ReferenceEquals(_refresh, refresh))
            {
                _refresh = null;
                if (!refresh.Outdated)
                {
                    _tools = refresh.Tools;
                }
            }
        }

        refresh.Completion.TrySetResult(refresh.Tools);
    }

    /// <summary>The server said its list changed: read it again before the next call.</summary>
    public void MarkStale()
    {
        lock (_lock)
        {
            _tools = null;
            if (_refresh is not null)
            {
                _refresh.Outdated = true;
            }
        }
    }

    /// <summary>The server's output ended: the calls waiting are refused with <paramref name="why"/>.</summary>
    public void Fail(string why)
    {
        ToolRefresh? refresh;
        lock (_lock)
        {
            refresh = _refresh;
            _refresh = null;
        }

        refresh?.Completion.TrySetException(new InvalidOperationException(why + " The call cannot be classified."));
    }

    private ValueTask RequestPageAsync(ToolRefresh refresh, string? cursor)
    {
        var id = serverIds.Next();
        lock (_lock)
        {
            refresh.PageId = id;
        }

        return toServer.WriteAsync((id, cursor), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            json.WriteNumber("id", state.id);
            json.WriteString("method", "tools/list");
            json.WriteStartObject("params");
            if (state.cursor is not null)
            {
                json.WriteString("cursor", state.cursor);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        });
    }
}
