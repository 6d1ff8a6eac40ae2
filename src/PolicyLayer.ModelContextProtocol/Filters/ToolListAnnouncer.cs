using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Server;
using PolicyLayer.Gate;

namespace PolicyLayer.Mcp;

/// <summary>
/// Tells clients when a new policy (a reload) or a switch of shadow mode changes what tools/list shows them, as the proxy
/// does: the server's tool collection raises its change event, and the SDK sends <c>notifications/tools/list_changed</c>.
/// Tools listed by a custom <c>ListToolsHandler</c> are not known to it. One per server's services.
/// </summary>
/// <remarks>
/// The server options are built once for a stdio server and for the sessions of a stateful HTTP server, but once per
/// request on stateless Streamable HTTP (and once per session when the host sets <c>ConfigureSessionOptions</c>). So
/// nothing here costs per build: <see cref="Seed"/> gives the SDK an announcing collection to fill in place of the one it
/// would make, and a collection is tracked (listed against the policy, held weakly) only when a client with a session
/// lists its tools (<see cref="Track"/>). A request without a session has no session to announce a change to, and is
/// never tracked.
/// </remarks>
internal sealed partial class ToolListAnnouncer : IDisposable
{
    private readonly ToolCallGate _gate;
    private readonly bool _filterDenied;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();

    // The collections of the servers whose clients listed tools, held weakly: a session's server goes away with it.
    private readonly ConditionalWeakTable<AnnouncingToolCollection, object?> _tracked = [];

    public ToolListAnnouncer(ToolCallGate gate, PolicyLayerMcpOptions options, ILoggerFactory? loggerFactory)
    {
        _gate = gate;
        _filterDenied = options.FilterToolsList;
        _logger = (ILogger?)loggerFactory?.CreateLogger("PolicyLayer.Mcp") ?? NullLogger.Instance;
        gate.Evaluator.ListingMayHaveChanged += OnListingMayHaveChanged;
    }

    /// <summary>
    /// Before the SDK collects the server's tools: gives it an announcing collection to put them in, as it keeps a collection
    /// it finds (so no copy is made later). Only when the server has tools of its own, so a server without any still has no
    /// tool collection, as without PolicyLayer.
    /// </summary>
    public static void Seed(McpServerOptions options, bool serverHasTools)
    {
        if (serverHasTools && options.ToolCollection is null)
        {
            options.ToolCollection = new AnnouncingToolCollection();
        }
    }

    /// <summary>
    /// After every other set-up: a tool collection the host made itself is copied into an announcing one, the one way to
    /// make it able to announce. The seeded collection, the usual case, is left as it is.
    /// </summary>
    public static void Adopt(McpServerOptions options)
    {
        if (options.ToolCollection is not { } tools || tools is AnnouncingToolCollection)
        {
            return;
        }

        var announcing = new AnnouncingToolCollection();
        foreach (var tool in tools)
        {
            announcing.Add(tool);
        }

        options.ToolCollection = announcing;
    }

    /// <summary>
    /// A client with a session listed the tools of <paramref name="tools"/>: from now on, a change of what tools/list shows
    /// of them is announced. Notes what it shows now; once per collection.
    /// </summary>
    public void Track(AnnouncingToolCollection tools)
    {
        lock (_lock)
        {
            if (tools.IsTracked)
            {
                return;
            }

            tools.Listed = Listed(tools);
            _tracked.AddOrUpdate(tools, null);
        }
    }

    /// <summary>How many collections are tracked (live ones).</summary>
    internal int TrackedCount
    {
        get
        {
            lock (_lock)
            {
                return _tracked.Count();
            }
        }
    }

    public void Dispose() => _gate.Evaluator.ListingMayHaveChanged -= OnListingMayHaveChanged;

    private void OnListingMayHaveChanged()
    {
        try
        {
            List<AnnouncingToolCollection>? changed = null;
            lock (_lock)
            {
                foreach (var (tools, _) in _tracked)
                {
                    var listed = Listed(tools);
                    if (!listed.AsSpan().SequenceEqual(tools.Listed))
                    {
                        tools.Listed = listed;
                        (changed ??= []).Add(tools);
                    }
                }
            }

            changed?.ForEach(static tools => tools.Announce());
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
