using System.Collections.Frozen;
using System.Text.Json;
using NJsonSchema;
using PolicyLayer.Policies;
using PolicyLayer.TestUtils;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>The shipped JSON Schema and the loader agree: same fields, same words, and the samples validate.</summary>
public class PolicySchemaTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(PolicyDocument.GetJsonSchema()).RootElement;

    private static JsonElement Definition(string name) => Schema.GetProperty("definitions").GetProperty(name);

    private static IEnumerable<string> PropertyNames(JsonElement schemaObject) =>
        schemaObject.GetProperty("properties").EnumerateObject().Select(p => p.Name);

    private static IEnumerable<string> Enum(JsonElement schemaValue) =>
        schemaValue.GetProperty("enum").EnumerateArray().Select(e => e.GetString()!);

    [Test]
    public void Schema_RootFields_AreTheLoaders() =>
        PropertyNames(Schema).Should().BeEquivalentTo(PolicyReaderV1.RootFields);

    [Test]
    public void Schema_RuleFields_AreTheLoaders() =>
        PropertyNames(Definition("rule")).Should().BeEquivalentTo(PolicyReaderV1.RuleFields);

    [Test]
    public void Schema_ConditionLimitAndShorthandFields_AreTheLoaders()
    {
        PropertyNames(Definition("condition")).Should().BeEquivalentTo(PolicyReaderV1.ConditionFields);
        PropertyNames(Definition("predicate")).Should().BeEquivalentTo(PolicyReaderV1.PredicateFields);
        PropertyNames(Definition("limit")).Should().BeEquivalentTo(PolicyReaderV1.LimitFields);
        PropertyNames(Definition("rule").GetProperty("properties").GetProperty("rate_limit")).Should().BeEquivalentTo(PolicyReaderV1.RateLimitFields);
        PropertyNames(Schema.GetProperty("properties").GetProperty("all_tools")).Should().BeEquivalentTo(PolicyReaderV1.AllToolsFields);
    }

    [Test]
    public void Schema_Words_AreTheLoaders()
    {
        Enum(Definition("action")).Should().BeEquivalentTo(PolicyReaderV1.Actions.Keys);
        Enum(Definition("scope")).Should().BeEquivalentTo(PolicyReaderV1.Scopes.Keys);
        Enum(Definition("category")).Should().BeEquivalentTo(PolicyReaderV1.Categories.Keys);
        PropertyNames(Schema.GetProperty("properties").GetProperty("risk")).Should().BeEquivalentTo(PolicyReaderV1.Categories.Keys);
        Enum(Definition("condition").GetProperty("properties").GetProperty("op")).Should().BeEquivalentTo(PolicyReaderV1.Operators.Keys);
        Enum(Definition("window").GetProperty("oneOf")[0]).Should().BeEquivalentTo(PolicyReaderV1.NamedWindows.Keys);
        Enum(Schema.GetProperty("properties").GetProperty("version")).Should().BeEquivalentTo(PolicyDocument.SupportedVersions);
    }

    public static IEnumerable<string> ValidDocuments() =>
        Directory.GetFiles(RepositoryPaths.Get("samples", "policies"), "*.policy.json")
            .Concat(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "valid"), "*.json"));

    [TestCaseSource(nameof(ValidDocuments))]
    public async Task Schema_ValidDocument_Validates(string file)
    {
        var schema = await JsonSchema.FromJsonAsync(PolicyDocument.GetJsonSchema());

        var errors = schema.Validate(await File.ReadAllTextAsync(file));

        errors.Should().BeEmpty(file);
    }

    [TestCase("typo-limits")]
    [TestCase("limit-unknown-scope")]
    [TestCase("condition-unknown-op")]
    [TestCase("limit-max-zero")]
    [TestCase("limit-window-bad-unit")]
    [TestCase("condition-path-no-args")]
    [TestCase("predicate-unknown-field")]
    [TestCase("caller-path-unknown")]
    [TestCase("counter-reserved-name")]
    [TestCase("revision-empty")]
    public async Task Schema_InvalidDocument_IsRejectedByTheSchemaToo(string name)
    {
        var schema = await JsonSchema.FromJsonAsync(PolicyDocument.GetJsonSchema());

        var errors = schema.Validate(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "invalid", name + ".json")));

        errors.Should().NotBeEmpty();
    }

    [Test]
    public void Schema_IsShippedInTheAssembly()
    {
        var text = PolicyDocument.GetJsonSchema();

        text.Should().Contain("\"title\": \"PolicyLayer policy document\"");
    }
}
