using System.Text;
using System.Text.Json;
using CsCheck;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>
/// The loader finds duplicate keys itself instead of asking the parser to: it must find exactly those the parser finds,
/// in any object at any depth, in objects of any size, and send every key spelled with escapes to the parser.
/// </summary>
public sealed class DuplicateKeysTests
{
    [Test]
    public void Find_AgreesWithTheParsersOwnCheck_OnRandomDocuments()
    {
        // Keys from a small alphabet so that duplicates are common; some spelled with an escape.
        var key = Gen.OneOf(Gen.Char["ab"].Array[1, 2].Select(c => new string(c)), Gen.Const("\\u0061"), Gen.Const("a\\n"));
        var scalar = Gen.OneOf(Gen.Const("1"), Gen.Const("\"x\""), Gen.Const("null"), Gen.Const("[]"));
        var level1 = Gen.Select(key, scalar).Array[0, 4].Select(Object);
        var level2 = Gen.Select(key, Gen.OneOf(scalar, level1, level1.Array[0, 3].Select(a => "[" + string.Join(",", a) + "]"))).Array[0, 5].Select(Object);
        var document = Gen.Select(key, Gen.OneOf(scalar, level1, level2)).Array[0, 40].Select(Object);

        document.Sample(json =>
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            using var lenient = JsonDocument.Parse(bytes);
            var outcome = DuplicateKeys.Find(lenient.RootElement, bytes);

            var parserFindsOne = false;
            try
            {
                using var strict = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowDuplicateProperties = false });
            }
            catch (JsonException)
            {
                parserFindsOne = true;
            }

            if (outcome == DuplicateKeys.Outcome.Unsure)
            {
                json.Should().Contain("\\", "only a key written with an escape leaves the check unsure");
            }
            else
            {
                (outcome == DuplicateKeys.Outcome.Found).Should().Be(parserFindsOne, json);
            }
        });
    }

    [TestCase(2)]
    [TestCase(1000)]
    [TestCase(70_000)]
    public void Find_InAnObjectOfManyKeys_FindsTheOneWrittenTwice(int keys)
    {
        var names = Enumerable.Range(0, keys).Select(i => $"tool_{i}").Append($"tool_{keys / 2}");
        var bytes = Encoding.UTF8.GetBytes(Object(names.Select(n => (n, "{}")).ToArray()));
        using var document = JsonDocument.Parse(bytes);

        DuplicateKeys.Find(document.RootElement, bytes).Should().Be(DuplicateKeys.Outcome.Found);
    }

    [Test]
    public void Find_WhenEveryKeyIsDistinct_FindsNone()
    {
        var bytes = Encoding.UTF8.GetBytes(Object(Enumerable.Range(0, 5000).Select(i => ($"tool_{i}", """{"a":{"b":[{"a":1,"b":2}]},"b":1}""")).ToArray()));
        using var document = JsonDocument.Parse(bytes);

        DuplicateKeys.Find(document.RootElement, bytes).Should().Be(DuplicateKeys.Outcome.None);
    }

    [Test]
    public void Parse_AKeyTwiceAmongManyTools_IsAnErrorAtTheSecond()
    {
        var json = "{\"version\":\"1\",\"tools\":{\n" + string.Join(",\n", Enumerable.Range(0, 500).Select(i => $"\"t{i}\":{{}}")) + ",\n\"t7\":{}\n}}";

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle()
            .Which.Should().Match<PolicyValidationError>(e => e.Message.StartsWith("Duplicate key 't7'", StringComparison.Ordinal) && e.Line == 502);
    }

    [Test]
    public void Parse_AKeyTwiceInsideAConditionValue_IsAnError()
    {
        const string json = """
            { "version": "1", "tools": { "a": { "deny_if": [ { "path": "args.x", "op": "eq", "value": { "k": 1,
              "k": 2 } } ] } } }
            """;

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle()
            .Which.Should().Match<PolicyValidationError>(e => e.Message.StartsWith("Duplicate key 'k'", StringComparison.Ordinal) && e.Line == 2);
    }

    [Test]
    public void Parse_AKeyTwice_OnceSpelledWithAnEscape_IsAnError()
    {
        const string json = """{ "version": "1", "tools": { "ab": {}, "\u0061b": {} } }""";

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle()
            .Which.Message.Should().StartWith("Duplicate key 'ab'");
    }

    [Test]
    public void Parse_DistinctKeysSpelledWithEscapes_Load()
    {
        const string json = """{ "version": "1", "tools": { "a\u0062": {}, "a\u0063": { "action": "deny" } } }""";

        var policy = PolicyDocument.Parse(json);

        policy.Compiled.RuleCount.Should().Be(2);
        policy.Compiled.Tools.TryMatch("ac", out var rule, out _).Should().BeTrue();
        rule!.Action.Should().Be(PolicyAction.Deny);
    }

    private static string Object((string Key, string Value)[] members) =>
        "{" + string.Join(",", members.Select(m => $"\"{m.Key}\":{m.Value}")) + "}";
}
