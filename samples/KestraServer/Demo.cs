using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace KestraServer;

/// <summary>
/// <c>--demo</c>: starts this server as a child process over stdio, drives it with the SDK's client, and prints each decision.
/// </summary>
internal static class Demo
{
    public static async Task<int> RunAsync(string[] args)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var serverArgs = new List<string>();
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            serverArgs.Add(typeof(Demo).Assembly.Location);
        }

        var policyIndex = Array.IndexOf(args, "--policy");
        if (policyIndex >= 0 && policyIndex + 1 < args.Length)
        {
            serverArgs.Add("--policy");
            serverArgs.Add(Path.GetFullPath(args[policyIndex + 1]));
        }

        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "kestra",
            Command = self,
            Arguments = serverArgs,
            EnvironmentVariables = new Dictionary<string, string?> { ["KESTRA_GRANT"] = "demo-grant" },
        });
        await using var client = await McpClient.CreateAsync(transport, new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "kestra-demo", Version = "1.0" },
        });

        var tools = await client.ListToolsAsync();
        Console.WriteLine($"tools/list shows {tools.Count} tool(s): {string.Join(", ", tools.Select(t => t.Name))}");

        var refused = 0;
        for (var i = 1; i <= 31; i++)
        {
            var result = await client.CallToolAsync("add_execution_labels", new Dictionary<string, object?>
            {
                ["executionId"] = "exec-42",
                ["labels"] = new Dictionary<string, string> { ["run"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            });
            var text = Text(result);
            refused += result.IsError == true ? 1 : 0;
            Console.WriteLine($"call {i,2} add_execution_labels: {(result.IsError == true ? "REFUSED" : "allowed")}  {text}");
        }

        var delete = await client.CallToolAsync("delete_flow", new Dictionary<string, object?> { ["namespace"] = "company.team", ["id"] = "hello" });
        Console.WriteLine($"delete_flow: {(delete.IsError == true ? "REFUSED" : "allowed")}  {Text(delete)}");

        var ok = refused == 1 && delete.IsError == true;
        Console.WriteLine(ok ? "demo: 30 calls allowed, the 31st refused, delete_flow refused." : "demo: unexpected decisions.");
        return ok ? 0 : 1;
    }

    private static string Text(CallToolResult result) =>
        string.Join(" ", result.Content.OfType<TextContentBlock>().Select(c => c.Text)).ReplaceLineEndings(" ");
}
