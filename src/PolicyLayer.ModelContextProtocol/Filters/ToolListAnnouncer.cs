using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Server;
using PolicyLayer.Gate;

namespace PolicyLayer.Mcp;

/// <summary>
/// Tells clients when a new policy (a reload) or a switch of shadow mode changes what tools/list shows them, as the proxy
/// does: the server's tool collection raises its change event, and the SDK sends <c>notifications/tools/list_changed</c>.
/// Tools listed by a custom <c>ListToolsHandler</c> are not known to it. One per server.
/// </summary>
internal sealed partial class ToolListAnnouncer : IDisposable
{
    private readonly ToolCallGate _gate;
    private readonly bool _filterDenied;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private AnnouncingToolCollection? _tools;
    private string[] _listed = [];

    public ToolListAnnouncer(ToolCallGate gate, PolicyLayerMcpOptions options, ILoggerFactory? loggerFactory)
    {
        _gate = gate;
        _filterDenied = options.FilterToolsList;
        _logger = (ILogger?)loggerFactory?.CreateLogger("PolicyLayer.Mcp") ?? NullLogger.Instance;
        gate.Evaluator.ListingMayHaveChanged += OnListingMayHaveChanged;
    }

    /// <summary>Puts the server's tools in a collection that can announce a change, and notes what tools/list shows now.</summary>
    public void Adopt(McpServerOptions options)
    {
        if (options.ToolCollection is not { } tools)
        {
            return;
        }

        var announcing = tools as AnnouncingToolCollection;
        if (announcing is null)
        {
            announcing = new AnnouncingToolCollection();
            foreach (var tool in tools)
            {
                announcing.Add(tool);
            }

            options.ToolCollection = announcing;
        }

        lock (_lock)
        {
            _tools = announcing;
            _listed = Listed(announcing);
        }
    }

    public void Dispose() => _gate.Evaluator.ListingMayHaveChanged -= OnListingMayHaveChanged;

    private void OnListingMayHaveChanged()
    {
        try
        {
            AnnouncingToolCollection? changed = null;
            lock (_lock)
            {
                if (_tools is { } tools)
                {
                    var listed = Listed(tools);
                    if (!listed.AsSpan().SequenceEqual(_listed))
                    {
                        _listed = listed;
                        changed = tools;
                    }
                }
            }

            changed?.Announce();
        }
#pragma warning disable CA1031 // Raised by a reload: a failure to announce must not undo it, nor end the process on a timer thread.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogNotAnnounced(_logger, ex);
        }
    }

    private string[] Listed(AnnouncingToolCollection tools)
    {
        var listed = new List<string>();
        foreach (var tool in tools)
        {
            if (_gate.IsListed(ToolDescriptors.Get(tool.ProtocolTool), _filterDenied))
            {
                listed.Add(tool.ProtocolTool.Name);
            }
        }

        listed.Sort(StringComparer.Ordinal);
        return [.. listed];
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "The change of the tool list after a policy reload could not be announced to clients.")]
    private static partial void LogNotAnnounced(ILogger logger, Exception exception);
}
