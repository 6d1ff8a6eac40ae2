using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// The first set-up of the server options: puts an <see cref="AnnouncingToolCollection"/> where the SDK then collects the
/// server's tools (<see cref="ToolListAnnouncer.Seed"/>). Whether the server has tools is read once.
/// </summary>
internal sealed class ToolCollectionSeed : IConfigureOptions<McpServerOptions>
{
    private readonly bool _serverHasTools;

    public ToolCollectionSeed(IEnumerable<McpServerTool> tools)
    {
        _serverHasTools = tools.Any();
    }

    public void Configure(McpServerOptions options) => ToolListAnnouncer.Seed(options, _serverHasTools);
}
