using System.Text;
using System.Text.Json;
using CsCheck;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>
/// What the server receives is exactly what the proxy decided (issue 12, item 1). Whatever bytes the client sends, the
/// proxy's output to the server frames into the same messages under every SDK's stdio line splitting, and every
/// tools/call in it was decided (and allowed) by the proxy.
/// </summary>
/// <remarks>
/// The SDKs' rules, from their stdio transports: the TypeScript SDK's <c>ReadBuffer</c> splits at LF and drops one
/// trailing CR; the C# SDK (<c>StreamReader.ReadLineAsync</c>), the Python SDK (<c>TextIOWrapper</c> with universal
/// newlines) and the Java SDK (<c>BufferedReader.readLine</c>) end a line at LF, CR or CRLF.
/// </remarks>
public class FramingTests
{
    private static readonly string[] Tools = ["echo", "write_note", "secret_tool", "limited"];

    /// <summary>Between two tokens: JSON's whitespace, separators that some reader treats as a line end, and nothing.</summary>
    private static readonly string[] Gaps = ["", " ", "\t", "\r", "\r\n", "\n", "\u000b", "\u000c", "\u001c", "\u0085", "\u2028", "\u2029"];

    /// <summary>Inside a string value: plain text, raw separators that are legal in JSON strings, and escaped ones.</summary>
    private static readonly string[] StringParts = ["a", "é", "\u2028", "\u2029", "\u0085", "\\r", "\\n", "\\u000d", "\\u2028", "\r", "\n"];

    /// <summary>Between two messages.</summary>
    private static readonly string[] MessageEnds = ["\n", "\r\n", "\r", "", "\n\n"];

    [Test]
    public async Task BareCarriageReturn_HidingACallInsideAPing_TheServerReadsOnlyThePing()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();
        const string Hidden = """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_note","arguments":{}}}""";

        proxy.SendBytes(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":""" + "\r" + Hidden + "\r" + "}}\n"));
        var answer = await proxy.ReceiveAsync();
        await proxy.SyncAsync();

        answer.GetProperty("id").GetInt32().Should().Be(1);
        proxy.Child.CalledTools.Should().BeEmpty("the hidden call was never decided, so it must not run");
        proxy.Child.Received.Should().ContainSingle(l => l.Contains("\"ping\"") && l.Contains("write_note"), "the ping reaches the server whole, its params with it");
    }

    [Test]
    public async Task LineAndParagraphSeparatorsInStrings_AreForwardedEscaped()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();

        await proxy.RequestAsync(Call("1", "echo", "{\"text\":\"a\u2028b\u2029c\u0085d\"}"));

        var forwarded = proxy.Child.Received.Single(l => l.Contains("tools/call"));
        forwarded.Should().Contain("a\\u2028b\\u2029c\\u0085d");
        JsonDocument.Parse(forwarded).RootElement.GetProperty("params").GetProperty("arguments").GetProperty("text").GetString().Should().Be("a\u2028b\u2029c\u0085d");
    }

    [Test]
    public void AnyByteStream_EverySdksFramingOfWhatTheServerReceives_IsWhatTheProxyDecided()
    {
        GenStream.Sample(
            stream => CheckStreamAsync(stream).GetAwaiter().GetResult(),
            iter: 60,
            threads: 1,
            print: s => Convert.ToBase64String(s));
    }

    private static async Task CheckStreamAsync(byte[] stream)
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();
        proxy.SendBytes(stream);
        await DrainUntilAsync(proxy, "\"end-of-sample\"");

        var received = proxy.Child.RawReceived;
        var proxyLines = SplitAtLf(received);
        SplitLikeTypeScript(received).Should().Equal(proxyLines, "the TypeScript SDK must read the messages the proxy wrote");
        SplitLikeCSharpPythonJava(received).Should().Equal(proxyLines, "the C#, Python and Java SDKs must read the messages the proxy wrote");
        foreach (var line in proxyLines)
        {
            JsonDocument.Parse(line).RootElement.ValueKind.Should().Be(JsonValueKind.Object, "each line the server reads is one message");
        }

        // Calls are decided asynchronously (the gate), so an allowed call may still be on its way to the server when the ping
        // that ends the sample has been answered: wait (bounded) until the server has as many calls as were allowed.
        List<string> Allowed() => proxy.AuditLines.Where(a => a.GetProperty("outcome").GetString() == "allow").Select(a => a.GetProperty("tool").GetString()!).ToList();
        for (var waited = 0; proxy.Child.CalledTools.Count() < Allowed().Count && waited < 5_000; waited += 10)
        {
            await Task.Delay(10);
        }

        var calledAtServer = proxy.Child.CalledTools.ToList();
        var allowed = Allowed();
        calledAtServer.Should().BeEquivalentTo(allowed, "every call the server runs was decided and allowed by the proxy");
    }

    /// <summary>Reads what the client gets until the answer to a ping with <paramref name="id"/>, sent after everything else.</summary>
    private static async Task DrainUntilAsync(GatewayHarness proxy, string id)
    {
        proxy.Send("\n" + """{"jsonrpc":"2.0","id":""" + id + ""","method":"ping"}""");
        while (true)
        {
            var line = await proxy.ReceiveLineAsync();
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("id", out var answered) && answered.GetRawText() == id)
            {
                return;
            }
        }
    }

    private static List<string> SplitAtLf(byte[] bytes) =>
        Encoding.UTF8.GetString(bytes).Split('\n').Where(l => l.Length > 0).ToList();

    private static List<string> SplitLikeTypeScript(byte[] bytes) =>
        Encoding.UTF8.GetString(bytes).Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l).Where(l => l.Length > 0).ToList();

    private static List<string> SplitLikeCSharpPythonJava(byte[] bytes)
    {
        var lines = new List<string>();
        using var reader = new StringReader(Encoding.UTF8.GetString(bytes));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    private static readonly Gen<string> GenGap = Gen.Frequency((6, Gen.Const("")), (1, Gen.OneOfConst(Gaps)));

    private static readonly Gen<string> GenString = Gen.OneOfConst(StringParts).Array[0, 6].Select(parts => "\"" + string.Concat(parts) + "\"");

    private static readonly Gen<string> GenId = Gen.OneOf(Gen.Int[1, 50].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), GenString);

    /// <summary>A message as tokens, with a random gap before each.</summary>
    private static Gen<string> Tokens(params Gen<string>[] tokens) =>
        Gen.Select(tokens.Select(t => Gen.Select(GenGap, t, (gap, token) => gap + token)).ToArray().ToList().Aggregate(
            Gen.Const(string.Empty), (all, next) => Gen.Select(all, next, (a, b) => a + b)), GenGap, (body, end) => body + end);

    private static Gen<string> Const(string token) => Gen.Const(token);

    private static readonly Gen<string> GenCall = Tokens(
        Const("{"), Const("\"jsonrpc\""), Const(":"), Const("\"2.0\""), Const(","), Const("\"id\""), Const(":"), GenId, Const(","),
        Const("\"method\""), Const(":"), Const("\"tools/call\""), Const(","), Const("\"params\""), Const(":"), Const("{"),
        Const("\"name\""), Const(":"), Gen.OneOfConst(Tools).Select(t => "\"" + t + "\""), Const(","), Const("\"arguments\""), Const(":"),
        Const("{"), Const("\"text\""), Const(":"), GenString, Const("}"), Const("}"), Const("}"));

    private static readonly Gen<string> GenPing = Tokens(
        Const("{"), Const("\"jsonrpc\""), Const(":"), Const("\"2.0\""), Const(","), Const("\"id\""), Const(":"), GenId, Const(","),
        Const("\"method\""), Const(":"), Const("\"ping\""), Const("}"));

    private static readonly Gen<string> GenPingHidingACall = Tokens(
        Const("{"), Const("\"jsonrpc\""), Const(":"), Const("\"2.0\""), Const(","), Const("\"id\""), Const(":"), GenId, Const(","),
        Const("\"method\""), Const(":"), Const("\"ping\""), Const(","), Const("\"params\""), Const(":"), Const("{"), Const("\"x\""), Const(":"),
        GenCall, Const("}"), Const("}"));

    private static readonly Gen<string> GenNotification = Tokens(
        Const("{"), Const("\"jsonrpc\""), Const(":"), Const("\"2.0\""), Const(","), Const("\"method\""), Const(":"), Const("\"notifications/progress\""),
        Const(","), Const("\"params\""), Const(":"), Const("{"), Const("\"progressToken\""), Const(":"), GenString, Const("}"), Const("}"));

    private static readonly Gen<string> GenJunk = Gen.Byte.Array[0, 20].Select(b => Encoding.Latin1.GetString(b));

    private static readonly Gen<byte[]> GenStream =
        Gen.Select(
            Gen.Frequency((3, GenCall), (2, GenPing), (2, GenPingHidingACall), (1, GenNotification), (1, GenJunk)),
            Gen.OneOfConst(MessageEnds),
            (message, end) => message + end)
        .Array[1, 8]
        .Select(messages => Encoding.UTF8.GetBytes(string.Concat(messages)));
}
