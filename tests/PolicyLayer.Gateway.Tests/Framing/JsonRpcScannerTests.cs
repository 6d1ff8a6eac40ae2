using System.Text;
using System.Text.Json;

namespace PolicyLayer.Gateway.Tests.Framing;

/// <summary>
/// The scanner matches member names in place, without making strings of them: it must read every envelope exactly as a
/// JSON parser does, escaped names included.
/// </summary>
public class JsonRpcScannerTests
{
    private static readonly string[] RootNames = ["jsonrpc", "id", "method", "params", "result", "error", "other", "ID", "idx", "i"];
    private static readonly string[] InnerNames = ["arguments", "isError", "name", "id", "content", "result", "params", "x"];

    [Test]
    public void RandomMessages_WithEscapedNames_AreReadAsAParserReadsThem_StrictOrNot()
    {
        var random = new Random(1905);
        var lenient = new JsonRpcScanner(strict: false);
        var strict = new JsonRpcScanner(strict: true);
        var messages = 0;
        for (var i = 0; i < 4000; i++)
        {
            var line = Encoding.UTF8.GetBytes(RandomMessage(random));
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;

            lenient.Scan(line, out var read).Should().Be(ScanStatus.Message, Encoding.UTF8.GetString(line));
            ShouldBeTheParsersReading(read, root, line);
            if (strict.Scan(line, out var checkedRead) == ScanStatus.Message)
            {
                messages++;
                ShouldBeTheParsersReading(checkedRead, root, line);
            }
        }

        messages.Should().BeGreaterThan(40, "some of the random messages are valid JSON-RPC (64 with this seed)");
    }

    [TestCase("""{"jsonrpc":"2.0","\u0069d":7,"m\u0065thod":"tools/call","params":{"name":"a","\u0061rguments":{"x":1}}}""")]
    [TestCase("""{"jsonrpc":"2.0","id":7,"r\u0065sult":{"content":[],"isErro\u0072":true}}""")]
    public void EscapedNames_AreTheMembersTheyName(string text)
    {
        var line = Encoding.UTF8.GetBytes(text);
        using var document = JsonDocument.Parse(line);

        new JsonRpcScanner(strict: false).Scan(line, out var lenient).Should().Be(ScanStatus.Message);
        new JsonRpcScanner(strict: true).Scan(line, out var strict).Should().Be(ScanStatus.Message);

        ShouldBeTheParsersReading(lenient, document.RootElement, line);
        ShouldBeTheParsersReading(strict, document.RootElement, line);
        lenient.IdKey.Should().Be("n:7");
    }

    private static void ShouldBeTheParsersReading(in ScannedMessage read, JsonElement root, byte[] line)
    {
        var text = Encoding.UTF8.GetString(line);
        var method = root.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        read.Method.Should().Be(method, text);
        read.HasResult.Should().Be(root.TryGetProperty("result", out var result), text);
        read.HasError.Should().Be(root.TryGetProperty("error", out _), text);
        read.ResultIsError.Should().Be(result.ValueKind == JsonValueKind.Object && result.TryGetProperty("isError", out var isError) && isError.ValueKind == JsonValueKind.True, text);
        if (root.TryGetProperty("id", out var id))
        {
            read.IdType.Should().Be(TokenType(id.ValueKind), text);
            if (id.ValueKind is JsonValueKind.String or JsonValueKind.Number)
            {
                Encoding.UTF8.GetString(line, read.IdStart, read.IdLength).Should().Be(id.GetRawText(), text);
            }
        }
        else
        {
            read.IdType.Should().Be(JsonTokenType.None, text);
        }

        if (root.TryGetProperty("params", out var parameters))
        {
            read.ParamsType.Should().Be(TokenType(parameters.ValueKind), text);
            Encoding.UTF8.GetString(line, read.ParamsStart, read.ParamsLength).Should().Be(parameters.GetRawText(), text);
        }
        else
        {
            read.ParamsType.Should().Be(JsonTokenType.None, text);
        }

        var kind = method is not null ? (read.IdType == JsonTokenType.None ? MessageKind.Notification : MessageKind.Request) : MessageKind.Response;
        read.Kind.Should().Be(kind, text);
    }

    private static JsonTokenType TokenType(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => JsonTokenType.StartObject,
        JsonValueKind.Array => JsonTokenType.StartArray,
        JsonValueKind.String => JsonTokenType.String,
        JsonValueKind.Number => JsonTokenType.Number,
        JsonValueKind.True => JsonTokenType.True,
        JsonValueKind.False => JsonTokenType.False,
        _ => JsonTokenType.Null,
    };

    /// <summary>An object of distinct root members, each name possibly written with escapes, with random values.</summary>
    private static string RandomMessage(Random random)
    {
        var members = RootNames.Where(_ => random.Next(3) > 0).OrderBy(_ => random.Next()).ToList();
        var parts = members.Select(name => Name(random, name) + ":" + name switch
        {
            "jsonrpc" => random.Next(4) > 0 ? "\"2.0\"" : Value(random, 0),
            "id" => random.Next(3) switch { 0 => random.Next(100).ToString(System.Globalization.CultureInfo.InvariantCulture), 1 => "\"x" + random.Next(9) + "\"", _ => Value(random, 0) },
            "method" => random.Next(4) switch { 0 => "\"tools/call\"", 1 => "\"tools/\\u0063all\"", 2 => "\"ping\"", _ => Value(random, 0) },
            "params" or "result" => random.Next(4) > 0 ? InnerObject(random, 1) : Value(random, 0),
            _ => Value(random, 0),
        });
        return "{" + string.Join(random.Next(2) == 0 ? "," : " , ", parts) + "}";
    }

    private static string InnerObject(Random random, int depth)
    {
        var members = InnerNames.Where(_ => random.Next(3) == 0).OrderBy(_ => random.Next());
        return "{" + string.Join(",", members.Select(name => Name(random, name) + ":" + (name == "isError" && random.Next(2) == 0 ? "true" : Value(random, depth)))) + "}";
    }

    private static string Value(Random random, int depth) => random.Next(depth > 2 ? 5 : 7) switch
    {
        0 => "true",
        1 => "false",
        2 => "null",
        3 => random.Next(-5, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        4 => "\"s\\u00e9" + random.Next(9) + "\"",
        5 => InnerObject(random, depth + 1),
        _ => "[" + Value(random, depth + 1) + "," + Value(random, depth + 1) + "]",
    };

    /// <summary>A name as JSON, with one of its letters written as a \u escape one time in three.</summary>
    private static string Name(Random random, string name)
    {
        if (random.Next(3) != 0)
        {
            return "\"" + name + "\"";
        }

        var at = random.Next(name.Length);
        return "\"" + name[..at] + "\\u" + ((int)name[at]).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) + name[(at + 1)..] + "\"";
    }
}
