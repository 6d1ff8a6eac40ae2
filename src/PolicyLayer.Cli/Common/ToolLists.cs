using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PolicyLayer.Gate;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace PolicyLayer.Cli.Common;

/// <summary>Reads tool descriptors: from a tools/list result in a file, or live from a stdio MCP server.</summary>
internal static class ToolLists
{
    private static readonly JsonTypeInfo<Tool> ToolContract = (JsonTypeInfo<Tool>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(Tool));

    /// <summary>
    /// Reads a file (or stdin for <c>-</c>) holding a tools/list result (<c>{"tools":[...]}</c>), a bare array of
    /// tools, or a whole JSON-RPC response (<c>{"result":{"tools":[...]}}</c>).
    /// </summary>
    public static async Task<List<ToolDescriptor>> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = path == "-"
                ? await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false)
                : await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: cannot read the tool list: {PolicyFiles.Describe(ex)}", ex);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = false });
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{path}:{(ex.LineNumber ?? 0) + 1}:{(ex.BytePositionInLine ?? 0) + 1}: not JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            var (array, at) = root.ValueKind switch
            {
                JsonValueKind.Array => (root, "$"),
                JsonValueKind.Object when root.TryGetProperty("tools", out var tools) => (tools, "$.tools"),
                JsonValueKind.Object when root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object
                    && result.TryGetProperty("tools", out var tools) => (tools, "$.result.tools"),
                _ => (default, "$"),
            };
            if (array.ValueKind != JsonValueKind.Array)
            {
                throw new UsageException($"{path}: {at}: expected a tools/list result ({{\"tools\": [...]}}) or an array of tools.");
            }

            var list = new List<ToolDescriptor>();
            var index = 0;
            foreach (var tool in array.EnumerateArray())
            {
                list.Add(ToDescriptor(tool, $"{path}: {at}[{index++}]"));
            }

            return list;
        }
    }

    /// <summary>Starts <paramref name="command"/> as a stdio MCP server, lists its tools and stops it.</summary>
    public static async Task<List<ToolDescriptor>> ReadServerAsync(IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (command.Count == 0)
        {
            throw new UsageException("--server needs the server's command after '--', such as: --server -- dotnet run --project MyServer");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = command[0],
            Arguments = [.. command.Skip(1)],
            Name = "policylayer",
        });
        try
        {
            var client = await McpClient.CreateAsync(transport, cancellationToken: deadline.Token).ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                var tools = await client.ListToolsAsync(cancellationToken: deadline.Token).ConfigureAwait(false);
                var list = new List<ToolDescriptor>(tools.Count);
                for (var i = 0; i < tools.Count; i++)
                {
                    // The SDK's own (source-generated) contract for Tool: no reflection, so this works in the NativeAOT build.
                    var json = JsonSerializer.SerializeToElement(tools[i].ProtocolTool, ToolContract);
                    list.Add(ToDescriptor(json, $"server tool {i}"));
                }

                return list;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UsageException($"the server '{string.Join(' ', command)}' did not list its tools within {timeout.TotalSeconds:0} s.");
        }
        catch (Exception ex) when (ex is not UsageException and not OperationCanceledException)
        {
            throw new UsageException($"cannot list the tools of '{string.Join(' ', command)}': {ex.Message}", ex);
        }
    }

    /// <summary>One MCP tool object (see <see cref="McpToolJson.ReadDescriptor"/>), with an error that says where when it is unusable.</summary>
    internal static ToolDescriptor ToDescriptor(JsonElement tool, string where, string? knownName = null)
    {
        if (tool.ValueKind != JsonValueKind.Object)
        {
            throw new UsageException($"{where}: a tool is a JSON object.");
        }

        return McpToolJson.ReadDescriptor(tool, knownName)
            ?? throw new UsageException($"{where}: a tool needs a non-empty string \"name\".");
    }
}
