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

    /// <summary>
    /// The strict scan compares the names of short objects in place (plain ASCII, no escapes) and any other in a
    /// case-insensitive set. On random and hostile objects (repeats, case variants, escaped and non-ASCII spellings of the
    /// same letters, objects longer than the in-place limit) it must decide exactly as the set alone: the same status, the
    /// same problem text, the same envelope.
    /// </summary>
    [Test]
    public void StrictScan_ComparingNamesInPlace_DecidesExactlyAsTheSetAlone_OnRandomAndHostileObjects()
    {
        var random = new Random(2611);
        var inPlace = new JsonRpcScanner(strict: true);
        var setOnly = new JsonRpcScanner(strict: true, namesInPlace: false);
        var problems = new HashSet<string>();
        var outcomes = new int[4];
        for (var i = 0; i < 20_000; i++)
        {
            var text = i % 2 == 0 ? HostileMessage(random) : RandomMessage(random);
            var line = Encoding.UTF8.GetBytes(text);
            var status = inPlace.Scan(line, out var fast);
            setOnly.Scan(line, out var full).Should().Be(status, text);
            fast.Problem.Should().Be(full.Problem, text);
            fast.Kind.Should().Be(full.Kind, text);
            fast.IdKey.Should().Be(full.IdKey, text);
            fast.Method.Should().Be(full.Method, text);
            (fast.IdStart, fast.IdLength, fast.ParamsStart, fast.ParamsLength).Should().Be((full.IdStart, full.IdLength, full.ParamsStart, full.ParamsLength), text);
            outcomes[(int)status]++;
            if (full.Problem is { } problem)
            {
                problems.Add(problem);
            }
        }

        // The generator reaches every kind of verdict the name check gives, not only the easy ones.
        outcomes[(int)ScanStatus.Message].Should().BeGreaterThan(500);
        outcomes[(int)ScanStatus.InvalidRequest].Should().BeGreaterThan(500);
        problems.Should().Contain(p => p.Contains("appears twice", StringComparison.Ordinal))
            .And.Contain(p => p.Contains("differ only in case", StringComparison.Ordinal))
            .And.Contain(p => p.Contains("is not a JSON-RPC member", StringComparison.Ordinal));
    }

    [TestCase("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"name":"a","arguments":{"k":1,"\u004b":2}}}""", "differ only in case")]
    [TestCase("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"name":"a","arguments":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"A":10}}}""", "differ only in case")]
    [TestCase("""{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}""", "appears twice")]
    [TestCase("""{"jsonrpc":"2.0","Id":1,"method":"ping"}""", "is not a JSON-RPC member")]
    [TestCase("""{"jsonrpc":"2.0","\u0049d":1,"method":"ping"}""", "is not a JSON-RPC member")]
    [TestCase("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":1,"\u0078":2}}""", "appears twice")]
    public void StrictScan_AmbiguousNames_AreRefusedTheSameWayInPlaceOrNot(string text, string problem)
    {
        var line = Encoding.UTF8.GetBytes(text);
        var status = new JsonRpcScanner(strict: true).Scan(line, out var fast);
        new JsonRpcScanner(strict: true, namesInPlace: false).Scan(line, out var full).Should().Be(status);
        fast.Problem.Should().Be(full.Problem).And.Contain(problem);
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

    /// <summary>
    /// An object built to trip the name check: a name repeated, in another case, with an escape, or with a non-ASCII
    /// letter that a case-insensitive comparison folds to an ASCII one (Kelvin sign, long s, dotless i), at the root or in
    /// params and its arguments, sometimes with more members than are compared in place.
    /// </summary>
    private static string HostileMessage(Random random)
    {
        string[] spellings = ["id", "ID", "Id", "\\u0069d", "\\u0049D", "method", "METHOD", "params", "jsonrpc", "k", "K", "\\u212a", "s", "S", "\\u017f", "i", "I", "\\u0131", "x", "\\u0078", "\u00e9", "\u00c9", "name", "arguments"];
        string Names(int count, bool root)
        {
            var parts = new List<string>();
            if (root)
            {
                parts.Add("\"jsonrpc\":\"2.0\"");
                parts.Add("\"method\":\"tools/call\"");
            }

            for (var n = 0; n < count; n++)
            {
                var name = random.Next(3) == 0 ? "m" + random.Next(12) : spellings[random.Next(spellings.Length)];
                parts.Add("\"" + name + "\":" + random.Next(10));
            }

            return string.Join(",", parts.OrderBy(_ => random.Next()));
        }

        var arguments = "{" + Names(random.Next(0, 12), root: false) + "}";
        var parameters = "{\"name\":\"echo\",\"arguments\":" + arguments + (random.Next(2) == 0 ? "," + Names(random.Next(0, 4), root: false) : string.Empty) + "}";
        var root = Names(random.Next(0, 4), root: true);
        return "{" + (root.Length > 0 ? root + "," : string.Empty) + "\"id\":" + random.Next(100) + ",\"params\":" + parameters + "}";
    }

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
