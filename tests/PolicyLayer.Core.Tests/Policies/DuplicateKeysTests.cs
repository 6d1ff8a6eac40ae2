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

    // Each kind of object a policy has, with a key written twice on line 2 (the second spelled with an escape in the
    // escaped cases), quoted with ' for readability. The reader notices these itself on a document that is otherwise valid.
    [TestCase("{ 'version': '1', 'default': 'allow',\n'default': 'deny' }", "default", TestName = "Parse_AKeyTwice_InTheRoot_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a*': {},\n'a*': {} } }", "a*", TestName = "Parse_AKeyTwice_AmongToolGlobs_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a*': {},\n'\\u0061*': {} } }", "a*", TestName = "Parse_AKeyTwice_AmongToolGlobs_OnceEscaped_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a': { 'action': 'deny',\n'action': 'allow' } } }", "action", TestName = "Parse_AKeyTwice_InARule_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a': { 'action': 'deny',\n'\\u0061ction': 'allow' } } }", "action", TestName = "Parse_AKeyTwice_InARule_OnceEscaped_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a': { 'deny_if': [ { 'path': 'args.x', 'op': 'eq',\n'op': 'neq', 'value': 1 } ] } } }", "op", TestName = "Parse_AKeyTwice_InACondition_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a': { 'deny_if': [ { 'conditions': [], 'on_deny': 'no',\n'on_deny': 'never' } ] } } }", "on_deny", TestName = "Parse_AKeyTwice_InAPredicate_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a': { 'limits': [ { 'counter': 'c', 'window': 'minute', 'max': 1,\n'max': 2 } ] } } }", "max", TestName = "Parse_AKeyTwice_InALimit_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a': { 'rate_limit': { 'window': 'minute', 'max': 1,\n'max': 2 } } } }", "max", TestName = "Parse_AKeyTwice_InARateLimit_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'all_tools': { 'limits': [],\n'limits': [] } }", "limits", TestName = "Parse_AKeyTwice_InAllTools_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'risk': { 'read': {},\n'read': { 'action': 'deny' } } }", "read", TestName = "Parse_AKeyTwice_InRisk_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'classify': { 'a*': 'read',\n'a*': 'write' } }", "a*", TestName = "Parse_AKeyTwice_InClassify_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a': { 'deny_if': [ { 'path': 'args.x', 'op': 'eq', 'value': { 'p': [ 1, { 'q': { 'k': 1,\n'k': 2 } } ] } } ] } } }", "k", TestName = "Parse_AKeyTwice_DeepInAConditionValue_IsAnErrorAtTheSecond")]
    [TestCase("{ 'version': '1', 'tools': { 'a': { 'deny_if': [ { 'path': 'args.x', 'op': 'eq', 'value': { 'p': [ 1, { 'q': { 'k': 1,\n'\\u006b': 2 } } ] } } ] } } }", "k", TestName = "Parse_AKeyTwice_DeepInAConditionValue_OnceEscaped_IsAnErrorAtTheSecond")]
    public void Parse_AKeyTwiceInAnyKindOfObject_IsAnErrorAtTheSecond(string quoted, string key)
    {
        var act = () => PolicyDocument.Parse(quoted.Replace('\'', '"'));

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle()
            .Which.Should().Match<PolicyValidationError>(e => e.Message.StartsWith($"Duplicate key '{key}'", StringComparison.Ordinal) && e.Line == 2);
    }

    [Test]
    public void Parse_AKeyTwiceBesideAnotherError_ReportsBoth()
    {
        const string json = """
            { "version": "1", "tools": { "a": { "action": "maybe" },
              "b": { "limits": [], "limits": [] } } }
            """;

        var act = () => PolicyDocument.Parse(json);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Select(e => e.Message)
            .Should().Contain(m => m.StartsWith("Duplicate key 'limits'", StringComparison.Ordinal))
            .And.Contain(m => m.StartsWith("Unknown action", StringComparison.Ordinal));
    }

    [Test]
    public void Parse_DistinctKeysSpelledWithEscapesInAConditionValue_Load()
    {
        const string json = """{ "version": "1", "tools": { "a": { "deny_if": [ { "path": "args.x", "op": "eq", "value": { "\u006b": 1, "l": 2 } } ] } } }""";

        var policy = PolicyDocument.Parse(json);

        policy.Compiled.Tools.TryMatch("a", out var rule, out _).Should().BeTrue();
        rule!.DenyIf.Single().Conditions.Single().Value.GetProperty("k").GetInt32().Should().Be(1);
    }

    private static string Object((string Key, string Value)[] members) =>
        "{" + string.Join(",", members.Select(m => $"\"{m.Key}\":{m.Value}")) + "}";
}
