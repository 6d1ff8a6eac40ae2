using System.Text;
using System.Text.Json;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>
/// Input crafted to slip a call past the policy. Each is refused with a JSON-RPC error (with the id when it can be
/// read), never reaches the child, and the proxy goes on serving: every test ends with an allowed call that works.
/// </summary>
public abstract class HostileInputTests
{
    /// <summary>Starts a gateway with a fake child behind it, on the front the fixture tests.</summary>
    protected abstract Task<IGatewayTestClient> StartGatewayAsync(Action<McpGatewayOptions>? configure = null);

    private IGatewayTestClient _proxy = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _proxy = await StartGatewayAsync(o => o.MaxMessageBytes = 4096);
        await _proxy.InitializeAsync();
    }

    [TearDown]
    public void Stop() => _proxy.Dispose();

    [TestCase("""{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","name":"write_note"}}""", TestName = "DuplicateKey_ToolName_IsRefused")]
    [TestCase("""{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo"},"params":{"name":"write_note"}}""", TestName = "DuplicateKey_Params_IsRefused")]
    [TestCase("""{"jsonrpc":"2.0","id":5,"method":"tools/call","method":"ping","params":{"name":"write_note"}}""", TestName = "DuplicateKey_Method_IsRefused")]
    [TestCase("""{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","n\u0061me":"write_note"}}""", TestName = "DuplicateKey_SpelledWithAnEscape_IsRefused")]
    [TestCase("""{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","Name":"write_note"}}""", TestName = "KeysDifferingOnlyInCase_AreRefused")]
    [TestCase("""{"jsonrpc":"2.0","id":5,"Method":"tools/call","params":{"name":"write_note"}}""", TestName = "CaseVariantOfAnEnvelopeMember_IsRefused")]
    public async Task AmbiguousMessage_IsRefusedWithItsIdAndNeverForwarded(string line)
    {
        var answer = await _proxy.RequestAsync(line);

        answer.ErrorCode().Should().Be(-32600);
        answer.GetProperty("id").GetInt32().Should().Be(5);
        await ShouldStillServeAsync();
    }

    [TestCase("""{"text":"a","text":"b"}""", TestName = "DuplicateKey_InToolArguments_IsRefusedByTheGateAsAmbiguous")]
    [TestCase("""{"amount":1,"Amount":1000}""", TestName = "CaseVariantKeys_InToolArguments_AreRefusedByTheGateAsAmbiguous")]
    [TestCase("""{"details":[{"a":1,"A":2}]}""", TestName = "CaseVariantKeys_NestedInToolArguments_AreRefusedByTheGateAsAmbiguous")]
    public async Task AmbiguousToolArguments_AreRefusedByTheGate_WithAToolResultTheAgentCanActOn(string arguments)
    {
        var answer = await _proxy.RequestAsync(Call("5", "echo", arguments));

        // As the middleware answers it (the host contract suite): a refusal of the call, not of the message.
        answer.GetProperty("id").GetInt32().Should().Be(5);
        answer.DeniedText().Should().Contain("ambiguous");
        answer.GetProperty("result").GetProperty("_meta").GetProperty("policylayer/decision").GetProperty("kind").GetString().Should().Be("invalid_arguments");
        _proxy.Child.CalledTools.Should().BeEmpty();
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task AmbiguousArguments_OfAnotherMethod_AreAnInvalidRequest()
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"p","arguments":{"a":"1","A":"2"}}}""");

        answer.ErrorCode().Should().Be(-32600);
        answer.GetProperty("id").GetInt32().Should().Be(5);
        _proxy.Child.Methods.Should().NotContain("prompts/get");
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task DuplicateId_IsRefusedWithANullId()
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","id":5,"id":6,"method":"tools/call","params":{"name":"echo"}}""");

        answer.ErrorCode().Should().Be(-32600);
        answer.GetProperty("id").ValueKind.Should().Be(JsonValueKind.Null);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task Batch_IsRefusedElementByElementAndNothingInItIsForwarded()
    {
        _proxy.Send("[" + Call("1", "echo") + "," + Call("\"b\"", "write_note") + """,{"jsonrpc":"2.0","method":"notifications/x"}]""");

        var answer = JsonDocument.Parse(await _proxy.ReceiveLineAsync()).RootElement;

        answer.ValueKind.Should().Be(JsonValueKind.Array);
        answer.EnumerateArray().Select(e => e.GetProperty("id").GetRawText()).Should().Equal("1", "\"b\"");
        answer.EnumerateArray().Should().OnlyContain(e => e.GetProperty("error").GetProperty("code").GetInt32() == -32600);
        await ShouldStillServeAsync();
        _proxy.Child.Methods.Should().NotContain("notifications/x");
    }

    [TestCase("[]")]
    [TestCase("[1,2]")]
    public async Task Batch_WithoutRequests_GetsOneErrorWithANullId(string line)
    {
        var answer = await _proxy.RequestAsync(line);

        answer.ErrorCode().Should().Be(-32600);
        answer.GetProperty("id").ValueKind.Should().Be(JsonValueKind.Null);
        await ShouldStillServeAsync();
    }

    [TestCase("\"abc\"")]
    [TestCase("\"\\u0041\\n\"")]
    [TestCase("\"\"")]
    [TestCase("0")]
    [TestCase("-12")]
    [TestCase("1.5")]
    [TestCase("1e3")]
    [TestCase("123456789012345678901234567890")]
    [TestCase("-0.000000000000000000000000001")]
    public async Task Id_OfAnyStringOrNumberForm_IsEchoedExactlyInARefusal(string id)
    {
        var line = await RefusedLineAsync(id);

        line.Should().Contain("\"id\":" + id + ",");
        await ShouldStillServeAsync();
    }

    [TestCase("1.5")]
    [TestCase("123456789012345678901234567890")]
    [TestCase("\"\\u0041\"")]
    public async Task Id_OfAnyForm_TracksAForwardedCallSoItsReservationIsGivenBack(string id)
    {
        _proxy.Child.FailingTools.Add("limited");

        (await _proxy.RequestAsync(Call(id, "limited"))).GetProperty("id").GetRawText().Should().Be(id);
        var second = await _proxy.RequestAsync(Call("2", "limited"));

        second.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran limited");
    }

    [TestCase("null")]
    [TestCase("true")]
    [TestCase("{\"a\":1}")]
    [TestCase("[1]")]
    public async Task Id_OfAnotherType_IsRefusedWithANullId(string id)
    {
        var answer = await _proxy.RequestAsync(Call(id, "echo"));

        answer.ErrorCode().Should().Be(-32600);
        answer.GetProperty("id").ValueKind.Should().Be(JsonValueKind.Null);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task ToolsCall_WithoutAnId_IsRefusedAndNotForwarded()
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}""");

        answer.ErrorCode().Should().Be(-32600);
        await ShouldStillServeAsync();
    }

    [TestCase("""{"name":42}""")]
    [TestCase("""{"name":null}""")]
    [TestCase("""{"name":{"x":"echo"}}""")]
    [TestCase("""{"name":""}""")]
    [TestCase("""{"arguments":{}}""")]
    [TestCase("""{"name":"echo","arguments":[]}""")]
    [TestCase("""{"name":"echo","arguments":"text=1"}""")]
    public async Task ToolsCall_WithParametersOfTheWrongType_IsRefusedAsInvalidParams(string parameters)
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","id":9,"method":"tools/call","params":""" + parameters + "}");

        answer.ErrorCode().Should().Be(-32602);
        answer.GetProperty("id").GetInt32().Should().Be(9);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task ToolName_WithALoneSurrogateEscape_IsRefusedAsInvalidParams()
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo\ud800"}}""");

        answer.ErrorCode().Should().Be(-32602);
        answer.GetProperty("id").GetInt32().Should().Be(9);
        await ShouldStillServeAsync();
    }

    [TestCase("[]")]
    [TestCase("\"echo\"")]
    public async Task ToolsCall_WhoseParamsAreNotAnObject_IsRefused(string parameters)
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","id":9,"method":"tools/call","params":""" + parameters + "}");

        answer.ErrorCode().Should().Be(-32600);
        answer.GetProperty("id").GetInt32().Should().Be(9);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task Line_OverTheSizeLimit_IsDiscardedAndRefusedWithANullId()
    {
        var big = Call("3", "echo", """{"text":"x"}""").Replace("\"x\"", "\"" + new string('x', 10_000) + "\"");

        var answer = await _proxy.RequestAsync(big);

        answer.ErrorCode().Should().Be(-32600);
        answer.GetProperty("error").GetProperty("message").GetString().Should().Contain("4096 bytes");
        answer.GetProperty("id").ValueKind.Should().Be(JsonValueKind.Null);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task Line_AtTheSizeLimit_IsServed()
    {
        var prefix = Call("3", "echo", """{"text":""}""");
        var exact = prefix.Replace("\"text\":\"\"", "\"text\":\"" + new string('y', 4096 - prefix.Length) + "\"");
        exact.Length.Should().Be(4096);

        var answer = await _proxy.RequestAsync(exact);

        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
    }

    [Test]
    public async Task InvalidUtf8_IsAParseErrorWithANullId()
    {
        var bytes = Encoding.UTF8.GetBytes(Call("4", "echo", """{"text":"AB"}""") + "\n");
        var at = Array.IndexOf(bytes, (byte)'A');
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28;
        _proxy.SendBytes(bytes);

        var answer = await _proxy.ReceiveAsync();

        answer.ErrorCode().Should().Be(-32700);
        answer.GetProperty("id").ValueKind.Should().Be(JsonValueKind.Null);
        await ShouldStillServeAsync();
    }

    [TestCase("{\"jsonrpc\":\"2.0\",\"id\":1,")]
    [TestCase("not json")]
    [TestCase("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"write_note\"}}")]
    [TestCase("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",},}")]
    public async Task MalformedJson_IsAParseError(string line)
    {
        var answer = await _proxy.RequestAsync(line);

        answer.ErrorCode().Should().Be(-32700);
        answer.GetProperty("id").ValueKind.Should().Be(JsonValueKind.Null);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task NestingDeeperThanTheLimit_IsAParseError()
    {
        var deep = new string('[', 100) + new string(']', 100);

        var answer = await _proxy.RequestAsync(Call("1", "echo", """{"a":""" + deep + "}"));

        answer.ErrorCode().Should().Be(-32700);
        await ShouldStillServeAsync();
    }

    [TestCase("\"1.0\"", TestName = "JsonRpcVersion_Wrong_IsRefused")]
    [TestCase("2.0", TestName = "JsonRpcVersion_NotAString_IsRefused")]
    public async Task JsonRpcVersion_OtherThanTwo_IsRefused(string version)
    {
        var answer = await _proxy.RequestAsync("{\"jsonrpc\":" + version + ",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}");

        answer.ErrorCode().Should().Be(-32600);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task MessageWithBothMethodAndResult_IsRefused()
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"},"result":{}}""");

        answer.ErrorCode().Should().Be(-32600);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task MethodThatIsACaseVariantOfToolsCall_IsRefused()
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"write_note"}}""");

        answer.ErrorCode().Should().Be(-32600);
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task RequestId_ChosenByTheClient_NeverReachesTheServer()
    {
        var answer = await _proxy.RequestAsync(Call("\"policylayer-client-chosen-7\"", "echo"));

        answer.GetProperty("id").GetString().Should().Be("policylayer-client-chosen-7");
        _proxy.Child.CalledTools.Should().Equal("echo");
        _proxy.Child.Received.Should().NotContain(l => l.Contains("client-chosen"), "the server sees only ids the proxy chose");
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task ToolsCall_ReusingTheIdOfACallInFlight_IsRefused()
    {
        using var proxy = await StartGatewayAsync();
        await proxy.InitializeAsync(elicitation: true);
        proxy.Send(Call("1", "approve_me"));
        (await proxy.ReceiveAsync()).GetProperty("method").GetString().Should().Be("elicitation/create");

        var answer = await proxy.RequestAsync(Call("1", "echo"));

        answer.ErrorCode().Should().Be(-32600);
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task SecondInitialize_IsRefused()
    {
        var answer = await _proxy.RequestAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{},"clientInfo":{"name":"other"}}}""");

        answer.ErrorCode().Should().Be(-32600);
        _proxy.Gateway.Caller.AgentId.Should().Be("test-client");
        await ShouldStillServeAsync();
    }

    [Test]
    public async Task ToolsCall_BeforeInitialize_IsRefusedAndNotForwarded()
    {
        using var proxy = await StartGatewayAsync();

        var early = await proxy.RequestAsync(Call("1", "echo"));
        await proxy.InitializeAsync();
        var later = await proxy.RequestAsync(Call("2", "echo"));

        early.ErrorCode().Should().Be(-32600);
        early.GetProperty("id").GetInt32().Should().Be(1);
        later.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        proxy.Child.CalledTools.Should().HaveCount(1);
    }

    [Test]
    public async Task ClientResponseToAnIdOfTheProxy_IsNeverForwarded()
    {
        _proxy.Send("""{"jsonrpc":"2.0","id":"policylayer:""" + SessionId + """:approve:77","result":{"action":"accept","content":{"approve":true}}}""");

        await ShouldStillServeAsync();

        _proxy.Child.Received.Should().NotContain(l => l.Contains("approve:77"));
    }

    /// <summary>A denied call with <paramref name="id"/>: the proxy writes the answer itself.</summary>
    private async Task<string> RefusedLineAsync(string id)
    {
        _proxy.Send(Call(id, "write_note"));
        return await _proxy.ReceiveLineAsync();
    }

    /// <summary>An allowed call still works, and no refused call reached the child.</summary>
    private async Task ShouldStillServeAsync()
    {
        var answer = await _proxy.RequestAsync(Call("\"after\"", "echo"));
        answer.GetProperty("id").GetString().Should().Be("after");
        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        _proxy.Child.CalledTools.Should().OnlyContain(t => t == "echo" || t == "limited");
        _proxy.Child.Received.Should().OnlyContain(l => !l.Contains("write_note") && !l.Contains("Tools/Call"));
    }
}

/// <summary>The stdio front.</summary>
public sealed class StdioHostileInputTests : HostileInputTests
{
    protected override Task<IGatewayTestClient> StartGatewayAsync(Action<McpGatewayOptions>? configure = null) =>
        Task.FromResult<IGatewayTestClient>(new GatewayHarness(configure: configure));
}

/// <summary>The Streamable HTTP front: every message a POST of its own, every answer from a POST's body or the GET stream.</summary>
public sealed class HttpHostileInputTests : HostileInputTests
{
    protected override async Task<IGatewayTestClient> StartGatewayAsync(Action<McpGatewayOptions>? configure = null) =>
        await HttpGatewayHarness.StartAsync(configure: o => configure?.Invoke(o.Session));
}
