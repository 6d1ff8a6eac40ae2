using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using PolicyLayer.TestUtils;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>
/// The HTTP gateway (`policylayer proxy --listen`) between programs nobody here wrote: the official MCP TypeScript SDK's
/// Streamable HTTP client (tests/e2e-gateway/client.mjs), the MCP Inspector's CLI and @modelcontextprotocol/server-everything,
/// all from npm, the server once as the gateway's stdio child and once as its Streamable HTTP upstream. Each client runs
/// the same requests through the gateway and straight to the server, so "unchanged" is checked against what the server
/// itself answers: lists, calls with progress, resources/read, prompts/get, the server's own sampling and elicitation
/// requests answered by the client mid-call, logging (setLevel, then messages that only the GET stream can carry), and
/// a call the policy holds for approval, asked of the client by elicitation over HTTP.
/// Needs node and `npm ci --prefix tests/e2e-gateway`: under CI=true their absence fails the tests.
/// </summary>
[TestFixture("stdio")]
[TestFixture("http")]
[NonParallelizable]
[Category(Policylayer.ProcessLevel)]
public sealed partial class HttpEndToEndTests(string upstream)
{
    private const string DeniedTool = "get-env";

    private const string HeldTool = "get-sum";

    private const string Policy = """
        {
          "version": "1",
          "default": "allow",
          "tools": {
            "get-env": { "action": "deny", "reason": "The environment is not for agents." },
            "get-sum": { "action": "require_approval", "reason": "Sums need a person." }
          }
        }
        """;

    private readonly List<Process> _processes = [];
    private string _work = null!;
    private JsonDocument _output = null!;
    private string _gateway = null!;
    private string[] _inspectorDirect = null!;

    private static string E2eDir => RepositoryPaths.Get("tests", "e2e-gateway");

    private static string InspectorScript => Path.Combine("node_modules", "@modelcontextprotocol", "inspector", "cli", "build", "cli.js");

    private static string ServerScript => Path.Combine(E2eDir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");

    private JsonElement Gateway => _output.RootElement.GetProperty("gateway");

    private JsonElement Direct => _output.RootElement.GetProperty("direct");

    [OneTimeSetUp]
    public async Task RunTheClientThroughTheGatewayAndDirectly()
    {
        var node = NodeScript.FindOnPath("node");
        NodeScript.Require(
            node is not null && File.Exists(ServerScript) && File.Exists(Path.Combine(E2eDir, InspectorScript))
                && Directory.Exists(Path.Combine(E2eDir, "node_modules", "@modelcontextprotocol", "sdk")),
            "End-to-end HTTP gateway tests need node and tests/e2e-gateway/node_modules (run: npm ci --prefix tests/e2e-gateway).");

        _work = Directory.CreateTempSubdirectory("policylayer-e2e-gateway-").FullName;
        var policy = Path.Combine(_work, "policy.json");
        await File.WriteAllTextAsync(policy, Policy);

        string[] server;
        string[] direct;
        if (upstream == "http")
        {
            var port = ExternalTools.FreePort();
            var url = $"http://127.0.0.1:{port}/mcp";
            await StartAsync(node!, [ServerScript, "streamableHttp"], ServerListening(), new() { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            server = ["--upstream", url];
            direct = ["--direct-url", url];
            _inspectorDirect = [url, "--transport", "http"];
        }
        else
        {
            server = ["--", node!, ServerScript, "stdio"];
            direct = ["--direct", "--", node!, ServerScript, "stdio"];
            _inspectorDirect = [node!, ServerScript, "stdio"];
        }

        _gateway = await StartAsync(
            Policylayer.Program,
            [.. Policylayer.ProgramArguments, "proxy", "--policy", policy, "--listen", "http://127.0.0.1:0/mcp", "--grant", "e2e", .. server],
            GatewayListening(),
            []);

        _output = await NodeScript.RunAsync("e2e-gateway", "client.mjs", ["--gateway", _gateway, "--denied", DeniedTool, "--held", HeldTool, .. direct], TimeSpan.FromSeconds(90));
    }

    [OneTimeTearDown]
    public async Task StopProcesses()
    {
        foreach (var process in _processes)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }

        _output?.Dispose();
        if (_work is not null)
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [Test]
    public void Initialize_ThroughTheGateway_ReachesServerEverything()
    {
        Gateway.GetProperty("serverName").GetString().Should().Contain("everything")
            .And.Be(Direct.GetProperty("serverName").GetString());
    }

    [Test]
    public void ToolsList_OmitsTheDeniedTool_AndKeepsEveryOther()
    {
        var direct = Names(Direct.GetProperty("tools"));
        direct.Should().Contain([DeniedTool, "echo", "trigger-long-running-operation"], "server-everything has them");

        Names(Gateway.GetProperty("tools")).Should().Equal(direct.Where(name => name != DeniedTool));
    }

    [Test]
    public void AllowedCall_ReturnsTheServersResultUnchanged()
    {
        Gateway.GetProperty("echo").GetProperty("content")[0].GetProperty("text").GetString().Should().Contain("hello through the gateway");
        JsonElement.DeepEquals(Gateway.GetProperty("echo"), Direct.GetProperty("echo")).Should().BeTrue(
            "the gateway relays an allowed call's result as the server sent it:\n{0}\n{1}", Gateway.GetProperty("echo"), Direct.GetProperty("echo"));
    }

    [Test]
    public void DeniedCall_IsTheGatesRefusal()
    {
        var denied = Gateway.GetProperty("denied");

        var directIsError = Direct.GetProperty("denied").TryGetProperty("isError", out var flag) && flag.GetBoolean();
        directIsError.Should().BeFalse("server-everything itself answers the call");
        denied.GetProperty("isError").GetBoolean().Should().BeTrue();
        denied.GetProperty("content")[0].GetProperty("text").GetString().Should()
            .StartWith($"[POLICY DENIED] The call of '{DeniedTool}' was denied: The environment is not for agents.")
            .And.Contain("Rule: /tools/get-env.");
        var decision = denied.GetProperty("_meta").GetProperty("policylayer/decision");
        decision.GetProperty("outcome").GetString().Should().Be("deny");
        decision.GetProperty("kind").GetString().Should().Be("denied");
        decision.GetProperty("ruleId").GetString().Should().Be("/tools/get-env");
        decision.GetProperty("reason").GetString().Should().Be("The environment is not for agents.");
    }

    [TestCase("prompts")]
    [TestCase("resources")]
    [TestCase("resourceTemplates")]
    public void ListsThatAreNotGoverned_PassThroughUnchanged(string list)
    {
        var direct = Direct.GetProperty(list);
        direct.EnumerateObject().Single().Value.GetArrayLength().Should().BePositive("server-everything has {0}", list);

        JsonElement.DeepEquals(Gateway.GetProperty(list), direct).Should().BeTrue(
            "the gateway passes {0}/list through as the server answered it:\n{1}\n{2}", list, Gateway.GetProperty(list), direct);
    }

    [Test]
    public void LongRunningTool_ItsProgressNotificationsReachTheClient_AndItsResultIsUnchanged()
    {
        var progress = Gateway.GetProperty("progress").EnumerateArray()
            .Select(p => (p.GetProperty("progress").GetDouble(), p.GetProperty("total").GetDouble())).ToList();

        progress.Should().Equal((1d, 3d), (2d, 3d), (3d, 3d));
        JsonElement.DeepEquals(Gateway.GetProperty("progress"), Direct.GetProperty("progress")).Should().BeTrue();
        JsonElement.DeepEquals(Gateway.GetProperty("longRunning"), Direct.GetProperty("longRunning")).Should().BeTrue(
            "{0}\n{1}", Gateway.GetProperty("longRunning"), Direct.GetProperty("longRunning"));
    }

    [Test]
    public void ResourcesRead_ReturnsTheServersContentsUnchanged()
    {
        var direct = Direct.GetProperty("resourceRead");
        direct.GetProperty("result").GetProperty("contents").GetArrayLength().Should().BePositive();

        JsonElement.DeepEquals(Gateway.GetProperty("resourceRead"), direct).Should().BeTrue(
            "resources/read is relayed as the server answered it:\n{0}\n{1}", Gateway.GetProperty("resourceRead"), direct);
    }

    [TestCase("simplePrompt")]
    [TestCase("argsPrompt")]
    public void PromptsGet_ReturnsTheServersPromptUnchanged(string prompt)
    {
        var direct = Direct.GetProperty(prompt);
        direct.GetProperty("messages").GetArrayLength().Should().BePositive();

        JsonElement.DeepEquals(Gateway.GetProperty(prompt), direct).Should().BeTrue(
            "prompts/get is relayed as the server answered it:\n{0}\n{1}", Gateway.GetProperty(prompt), direct);
    }

    [Test]
    public void Sampling_TheServersRequestReachesTheClientMidCall_AndTheClientsAnswerReachesTheServer()
    {
        var requests = Gateway.GetProperty("samplingRequests");

        requests.GetArrayLength().Should().Be(1, "the server asked the client once, through the gateway");
        JsonElement.DeepEquals(requests, Direct.GetProperty("samplingRequests")).Should().BeTrue(
            "the server's sampling/createMessage reaches the client as the server sent it:\n{0}\n{1}", requests, Direct.GetProperty("samplingRequests"));
        Gateway.GetProperty("sampling").GetProperty("content")[0].GetProperty("text").GetString().Should()
            .Contain("sampled by the e2e client", "the tool's result carries the client's answer, so the answer reached the server");
        JsonElement.DeepEquals(Gateway.GetProperty("sampling"), Direct.GetProperty("sampling")).Should().BeTrue(
            "{0}\n{1}", Gateway.GetProperty("sampling"), Direct.GetProperty("sampling"));
    }

    [Test]
    public void Elicitation_TheServersOwnRequestIsRelayed_AndTheAcceptedAnswerReachesTheServer()
    {
        var requests = Gateway.GetProperty("serverElicitations");

        requests.GetArrayLength().Should().Be(1);
        JsonElement.DeepEquals(requests, Direct.GetProperty("serverElicitations")).Should().BeTrue(
            "the server's elicitation/create reaches the client as the server sent it:\n{0}\n{1}", requests, Direct.GetProperty("serverElicitations"));
        Gateway.GetProperty("elicitation").GetProperty("content")[1].GetProperty("text").GetString().Should()
            .Contain("- Name: Ada Lovelace", "the server read the client's answer");
        JsonElement.DeepEquals(Gateway.GetProperty("elicitation"), Direct.GetProperty("elicitation")).Should().BeTrue(
            "{0}\n{1}", Gateway.GetProperty("elicitation"), Direct.GetProperty("elicitation"));
    }

    [Test]
    public void Logging_SetLevelReachesTheServer_AndItsMessagesReachTheClient_AlsoOnTheGetStream()
    {
        JsonElement.DeepEquals(Gateway.GetProperty("setLevel"), Direct.GetProperty("setLevel")).Should().BeTrue();
        var logs = Gateway.GetProperty("logs").EnumerateArray().ToList();
        Direct.GetProperty("logs").EnumerateArray().Should().Contain(log => log.GetProperty("afterResult").GetBoolean(), "server-everything logs every 5 s");

        logs.Should().Contain(log => log.GetProperty("afterResult").GetBoolean(),
            "a message the server sends while no request is open reaches the client on the session's GET stream");
        logs.Should().OnlyContain(log => LogMessage().IsMatch(log.GetProperty("data").GetString()!)
            && log.GetProperty("data").GetString()!.StartsWith(log.GetProperty("level").GetString()!, StringComparison.OrdinalIgnoreCase),
            "each message is server-everything's, relayed unchanged: {0}", Gateway.GetProperty("logs"));
    }

    [Test]
    public void HeldCall_IsAskedOfTheClientByElicitation_AndRunsWhenAccepted()
    {
        var approvals = Gateway.GetProperty("approvalRequests");

        approvals.GetArrayLength().Should().Be(2, "the gateway asked once per held call");
        approvals[0].GetProperty("message").GetString().Should().Contain(HeldTool).And.Contain("Sums need a person.");
        Direct.GetProperty("approvalRequests").GetArrayLength().Should().Be(0, "the server itself asks nothing");
        Gateway.GetProperty("heldAccepted").GetProperty("content")[0].GetProperty("text").GetString().Should().Contain("5");
        JsonElement.DeepEquals(Gateway.GetProperty("heldAccepted"), Direct.GetProperty("heldAccepted")).Should().BeTrue(
            "an approved call is the server's own result:\n{0}\n{1}", Gateway.GetProperty("heldAccepted"), Direct.GetProperty("heldAccepted"));
    }

    [Test]
    public void HeldCall_WhenTheClientDeclines_IsTheGatesRefusal()
    {
        var declined = Gateway.GetProperty("heldDeclined");

        declined.GetProperty("isError").GetBoolean().Should().BeTrue();
        var decision = declined.GetProperty("_meta").GetProperty("policylayer/decision");
        decision.GetProperty("kind").GetString().Should().Be("approval_declined");
        decision.GetProperty("ruleId").GetString().Should().Be("/tools/get-sum");
        Direct.GetProperty("heldDeclined").GetProperty("content")[0].GetProperty("text").GetString().Should().Contain("9", "directly the server ran it");
    }

    [Test]
    public async Task InspectorCli_ToolsList_IsTheServersListWithoutTheDeniedTool()
    {
        using var through = await InspectAsync([_gateway, "--transport", "http"], "--method", "tools/list");
        using var direct = await InspectAsync(_inspectorDirect, "--method", "tools/list");

        var expected = direct.RootElement.GetProperty("tools").EnumerateArray().Where(t => t.GetProperty("name").GetString() != DeniedTool).ToList();
        var tools = through.RootElement.GetProperty("tools").EnumerateArray().ToList();
        expected.Should().HaveCount(direct.RootElement.GetProperty("tools").GetArrayLength() - 1, "server-everything has {0}", DeniedTool);
        tools.Should().HaveSameCount(expected);
        tools.Zip(expected).Should().OnlyContain(pair => JsonElement.DeepEquals(pair.First, pair.Second), "each tool is relayed as the server described it");
    }

    [Test]
    public async Task InspectorCli_DeniedCallIsRefused_AndAnAllowedCallIsUnchanged()
    {
        using var denied = await InspectAsync([_gateway, "--transport", "http"], "--method", "tools/call", "--tool-name", DeniedTool);
        using var echo = await InspectAsync([_gateway, "--transport", "http"], "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=hi");
        using var directEcho = await InspectAsync(_inspectorDirect, "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=hi");

        denied.RootElement.GetProperty("isError").GetBoolean().Should().BeTrue();
        denied.RootElement.GetProperty("_meta").GetProperty("policylayer/decision").GetProperty("ruleId").GetString().Should().Be("/tools/get-env");
        echo.RootElement.GetProperty("content")[0].GetProperty("text").GetString().Should().Be("Echo: hi");
        JsonElement.DeepEquals(echo.RootElement, directEcho.RootElement).Should().BeTrue();
    }

    /// <summary>The Inspector's CLI (`mcp-inspector --cli TARGET... --method ...`): the JSON it prints.</summary>
    private static async Task<JsonDocument> InspectAsync(string[] target, params string[] method) =>
        JsonDocument.Parse(await NodeScript.RunForOutputAsync("e2e-gateway", InspectorScript, ["--cli", .. target, .. method], TimeSpan.FromSeconds(60)));

    private static List<string?> Names(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()).ToList();

    /// <summary>Starts a process and waits for the line that says it listens; the rest of its output is drained.</summary>
    private async Task<string> StartAsync(string program, string[] arguments, Regex ready, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        _processes.Add(process);
        _ = process.StandardOutput.ReadToEndAsync();
        var seen = new System.Text.StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            seen.AppendLine(line);
            if (ready.Match(line) is { Success: true } match)
            {
                _ = process.StandardError.ReadToEndAsync();
                return match.Groups.Count > 1 ? match.Groups[1].Value : line;
            }
        }

        throw new InvalidOperationException($"{Path.GetFileName(program)} ended before it listened:\n{seen}");
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex GatewayListening();

    [GeneratedRegex(@"^\w+[ -]level[ -]message$", RegexOptions.IgnoreCase)]
    private static partial Regex LogMessage();

    [GeneratedRegex("listening on port")]
    private static partial Regex ServerListening();
}
