using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer;

namespace KestraServer;

/// <summary>
/// <c>--demo</c>: a one-screen tour of PolicyLayer. Starts this server as a child process over stdio with
/// samples/policies/kestra-demo.policy.json, drives it with the SDK's client (which answers the approval requests as
/// the person at the client would), prints what the agent gets back for each kind of rule, and then runs the same
/// policy's test cases with the <c>policylayer test</c> runner. Exits 0 when every decision was the one the policy
/// makes and every case passed.
/// </summary>
internal static class Demo
{
    private const string PolicyFile = "kestra-demo.policy.json";
    private const string CasesFile = "kestra-demo.cases.json";
    private const string Grant = "demo-grant";
    private const int LabelsPerMinute = 30;

    public static async Task<int> RunAsync(string[] args)
    {
        var policy = Locate(PolicyFile);
        var cases = Locate(CasesFile);
        var otel = args.Contains("--otel");
        var answers = new Queue<bool>();
        await using var client = await ConnectAsync(policy, otel, answers);
        var tour = new Tour(client);

        Console.WriteLine($"PolicyLayer demo: the Kestra sample server over stdio, policy {Display(policy)}, grant {Grant}.");
        Console.WriteLine();
        await ShowToolListAsync(client, policy);

        Console.WriteLine();
        await tour.CallAsync("allowed", "list_flows", new() { ["namespace"] = "company.team" }, expectAllowed: true);
        await tour.CallAsync("allowed", "create_flow", new() { ["namespace"] = "company.team", ["id"] = "nightly", ["source"] = "id: nightly" }, expectAllowed: true);
        await tour.CallAsync("deny_if", "create_flow", new() { ["namespace"] = "prod.billing", ["id"] = "nightly", ["source"] = "id: nightly" }, expectAllowed: false);
        await tour.CallRepeatedlyAsync("rate limit", "add_execution_labels", new() { ["executionId"] = "exec-42", ["labels"] = new Dictionary<string, string> { ["env"] = "prod" } }, times: LabelsPerMinute + 1, expectAllowed: LabelsPerMinute);
        await tour.CallAsync("spend cap", "backfill_flow", new() { ["namespace"] = "company.team", ["id"] = "hello", ["executions"] = 60 }, expectAllowed: true);
        await tour.CallAsync("spend cap", "backfill_flow", new() { ["namespace"] = "company.team", ["id"] = "hello", ["executions"] = 50 }, expectAllowed: false);
        await tour.CallAsync("require", "execute_flow", new() { ["namespace"] = "company.team", ["id"] = "hello" }, expectAllowed: false);
        answers.Enqueue(true);
        await tour.CallAsync("approved", "execute_flow", new() { ["namespace"] = "company.team", ["id"] = "hello", ["reason"] = "rerun after the outage" }, expectAllowed: true, note: "the person approves");
        answers.Enqueue(false);
        await tour.CallAsync("declined", "execute_flow", new() { ["namespace"] = "company.team", ["id"] = "hello", ["reason"] = "one more run" }, expectAllowed: false, note: "the person declines");

        Console.WriteLine();
        var testsExit = RunPolicyTests(policy, cases);

        Console.WriteLine();
        var ok = tour.Unexpected == 0 && answers.Count == 0 && testsExit == 0;
        Console.WriteLine(ok
            ? "demo: every decision was the policy's, and its tests pass."
            : $"demo: FAILED: {tour.Unexpected} unexpected decision(s), {answers.Count} approval(s) never asked, policylayer test exited {testsExit}.");
        return ok ? 0 : 1;
    }

    /// <summary>
    /// The file in the repository's samples/policies (the one to edit), found from this program's folder; else the
    /// copy built next to it.
    /// </summary>
    private static string Locate(string fileName)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "policies", fileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "policies", fileName);
    }

    private static string Display(string path) => Path.GetRelativePath(Environment.CurrentDirectory, path);

    private static async Task<McpClient> ConnectAsync(string policy, bool otel, Queue<bool> answers)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var serverArgs = new List<string>();
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            serverArgs.Add(typeof(Demo).Assembly.Location);
        }

        serverArgs.AddRange(["--policy", policy]);
        if (otel)
        {
            serverArgs.Add("--otel");
        }

        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            // With --otel the server's traces and metrics arrive on its stderr: show them.
            StandardErrorLines = otel ? line => Console.Error.WriteLine("server: " + line) : null,
            Name = "kestra",
            Command = self,
            Arguments = serverArgs,
            EnvironmentVariables = new Dictionary<string, string?> { ["KESTRA_GRANT"] = Grant },
        });
        return await McpClient.CreateAsync(transport, new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "kestra-demo", Version = "1.0" },
            Handlers = new McpClientHandlers
            {
                // The person at the client: approves or declines, in the order the tour asks.
                ElicitationHandler = (_, _) => new(answers.TryDequeue(out var approve) && approve
                    ? new ElicitResult { Action = "accept", Content = new Dictionary<string, JsonElement> { ["approve"] = JsonSerializer.SerializeToElement(true) } }
                    : new ElicitResult { Action = "decline" }),
            },
        });
    }

    /// <summary>tools/list as the agent sees it, and for each tool of the server that is missing, the rule that hides it.</summary>
    private static async Task ShowToolListAsync(McpClient client, string policyPath)
    {
        var served = typeof(KestraTools).GetMethods()
            .Select(m => m.GetCustomAttribute<McpServerToolAttribute>()?.Name)
            .OfType<string>()
            .ToList();
        var listed = (await client.ListToolsAsync()).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        Console.WriteLine($"tools/list shows {listed.Count} of the server's {served.Count} tools: {string.Join(", ", served.Where(listed.Contains))}");

        // Why a tool is missing: the policy denies it outright. Ask the same policy, in-process, which rule says so.
        using var evaluator = new PolicyEvaluator(PolicyDocument.Load(policyPath));
        foreach (var tool in served.Where(t => !listed.Contains(t)))
        {
            var decision = await evaluator.EvaluateAsync(new ToolCall(tool, new CallerIdentity { GrantId = Grant }));
            Console.WriteLine($"  {tool} is missing: {decision.RuleId} denies it ({decision.Reason})");
        }
    }

    /// <summary>
    /// The policy's own test cases, run by the <c>policylayer test</c> runner in this process: the tool's entry point,
    /// with the same arguments and output as on the command line.
    /// </summary>
    private static int RunPolicyTests(string policy, string cases)
    {
        Console.WriteLine($"$ policylayer test {Display(policy)} {Display(cases)}");
        var tool = Assembly.Load(new AssemblyName("policylayer")).EntryPoint
            ?? throw new InvalidOperationException("The policylayer tool has no entry point.");
        Console.Out.Flush();
        var exit = tool.Invoke(null, [new[] { "test", Display(policy), Display(cases) }]);
        return exit is int code ? code : 1;
    }

    /// <summary>Makes the calls of the tour and prints one line per call, and for a refusal the text the agent reads.</summary>
    private sealed class Tour(McpClient client)
    {
        public int Unexpected { get; private set; }

        public async Task CallAsync(string label, string tool, Dictionary<string, object?> arguments, bool expectAllowed, string? note = null)
        {
            var result = await client.CallToolAsync(tool, arguments);
            var allowed = result.IsError != true;
            Check(allowed == expectAllowed);
            var call = $"{label,-10}  {tool} {JsonSerializer.Serialize(arguments)}{(note is null ? "" : $", {note}")}";
            if (allowed)
            {
                Console.WriteLine($"{call}: allowed -> {Shorten(Text(result))}");
            }
            else
            {
                Console.WriteLine($"{call}: refused by {RuleOf(result)}");
                Console.WriteLine($"{"",-10}    {Text(result)}");
            }
        }

        public async Task CallRepeatedlyAsync(string label, string tool, Dictionary<string, object?> arguments, int times, int expectAllowed)
        {
            var allowed = 0;
            CallToolResult? firstRefusal = null;
            for (var i = 0; i < times; i++)
            {
                var result = await client.CallToolAsync(tool, arguments);
                if (result.IsError != true)
                {
                    allowed++;
                }
                else
                {
                    firstRefusal ??= result;
                }
            }

            Check(allowed == expectAllowed && firstRefusal is not null);
            Console.WriteLine($"{label,-10}  {tool} x{times}: {allowed} allowed, {times - allowed} refused{(firstRefusal is null ? "" : $" by {RuleOf(firstRefusal)}")}");
            if (firstRefusal is not null)
            {
                Console.WriteLine($"{"",-10}    {Text(firstRefusal)}");
            }
        }

        private void Check(bool asExpected)
        {
            if (!asExpected)
            {
                Unexpected++;
                Console.WriteLine("UNEXPECTED: the next decision is not the one the policy makes.");
            }
        }

        private static string RuleOf(CallToolResult result) =>
            result.Meta?["policylayer/decision"] is JsonObject decision && decision["ruleId"] is JsonValue rule
                ? rule.ToString()
                : "(no policylayer/decision in _meta)";

        private static string Text(CallToolResult result) =>
            string.Join(" ", result.Content.OfType<TextContentBlock>().Select(c => c.Text)).ReplaceLineEndings(" ");

        /// <summary>A tool's output can be long: the first 60 characters show that it ran. Refusals are printed whole.</summary>
        private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
    }
}
