using System.Text;
using System.Text.Json;
using PolicyLayer.TestUtils;

namespace PolicyLayer.Core.Tests.Policies;

public class PolicyDocumentLoadingTests
{
    private static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    public sealed record InvalidCase(string Name, string Path, int? Line, int? Column, string Contains)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<InvalidCase> InvalidCases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture("invalid", "expected.json")));
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            var e = property.Value;
            yield return new InvalidCase(
                property.Name,
                e.GetProperty("path").GetString()!,
                e.GetProperty("line").ValueKind == JsonValueKind.Null ? null : e.GetProperty("line").GetInt32(),
                e.GetProperty("column").ValueKind == JsonValueKind.Null ? null : e.GetProperty("column").GetInt32(),
                e.GetProperty("contains").GetString()!);
        }
    }

    [Test]
    public void InvalidCorpus_HasAtLeastFortyDocuments() =>
        InvalidCases().Count().Should().BeGreaterThanOrEqualTo(40);

    [TestCaseSource(nameof(InvalidCases))]
    public void Load_InvalidDocument_ReportsPathLineAndColumn(InvalidCase c)
    {
        var file = Fixture("invalid", c.Name + ".json");
        var act = () => PolicyDocument.Load(file);

        var ex = act.Should().Throw<PolicyValidationException>().Which;
        ex.FilePath.Should().Be(file);
        ex.Errors.Should().Contain(
            e => e.Path == c.Path && (c.Line == null || e.Line == c.Line) && (c.Column == null || e.Column == c.Column) && e.Message.Contains(c.Contains),
            $"the errors were:{Environment.NewLine}{string.Join(Environment.NewLine, ex.Errors)}");
    }

    [TestCase("design-example.json")]
    [TestCase("gateway-rate-limit-shorthand.json")]
    [TestCase("every-operator.json")]
    public void Load_ValidDocument_Loads(string name)
    {
        var policy = PolicyDocument.Load(Fixture("valid", name));
        policy.Version.Should().Be("1");
    }

    [Test]
    public void Load_SamplePolicies_AllLoad()
    {
        var files = Directory.GetFiles(RepositoryPaths.Get("samples", "policies"), "*.policy.json");
        files.Should().NotBeEmpty();
        foreach (var file in files)
        {
            var load = () => PolicyDocument.Load(file);
            load.Should().NotThrow(file);
        }
    }

    [Test]
    public void Load_DesignExample_ResolvesCountersOnce()
    {
        var policy = PolicyDocument.Load(Fixture("valid", "design-example.json"));

        policy.Default.Should().Be(PolicyAction.Deny);
        policy.Counters.Select(c => (c.Name, c.Max, c.Window, c.Scope)).Should().BeEquivalentTo(new[]
        {
            ("all_calls", 120L, TimeSpan.FromMinutes(1), CounterScope.Session),
            ("add_execution_labels_rate", 30L, TimeSpan.FromMinutes(1), CounterScope.Grant),
            ("refund_total", 50000L, TimeSpan.FromDays(1), CounterScope.Grant),
        });
    }

    [Test]
    public void Parse_EveryWindowForm_GivesTheWindow()
    {
        var policy = PolicyDocument.Load(Fixture("valid", "every-operator.json"));

        policy.Counters.Select(c => c.Window).Should().Equal(
            TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(90),
            TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), TimeSpan.FromDays(1));
        // Limits without a scope count per grant, as the hosted gateway's do.
        policy.Counters.Select(c => c.Scope).Should().Equal(
            CounterScope.Grant, CounterScope.Agent, CounterScope.User, CounterScope.Global,
            CounterScope.Grant, CounterScope.Grant, CounterScope.Grant);
    }

    [Test]
    public void Parse_RateLimitShorthand_IsTenPerSixtySecondsPerSession()
    {
        var policy = PolicyDocument.Load(Fixture("valid", "gateway-rate-limit-shorthand.json"));

        var counter = policy.Counters.Should().ContainSingle().Subject;
        counter.Max.Should().Be(10);
        counter.Window.Should().Be(TimeSpan.FromSeconds(60));
        counter.Scope.Should().Be(CounterScope.Session);
    }

    [Test]
    public void Parse_SeveralErrors_ReportsAllAtOnceInDocumentOrder()
    {
        const string json = """
            {
              "version": "1",
              "default": "maybe",
              "tools": {
                "a": { "limts": [] },
                "b": { "limits": [ { "counter": "c", "window": "minute", "max": 0 } ] }
              }
            }
            """;

        var ex = FluentActions.Invoking(() => PolicyDocument.Parse(json)).Should().Throw<PolicyValidationException>().Which;

        ex.Errors.Select(e => (e.Path, e.Line)).Should().Equal(
            ("$.default", 3), ("$.tools.a.limts", 5), ("$.tools.b.limits[0].max", 6));
        ex.Message.Should().Contain("3 errors");
    }

    [Test]
    public void Parse_DocumentLargerThanTheLimit_IsRefusedWithTheLimit()
    {
        var big = "{\"version\":\"1\",\"hide\":[" + string.Join(",", Enumerable.Repeat("\"" + new string('x', 1000) + "\"", 4300)) + "]}";

        var ex = FluentActions.Invoking(() => PolicyDocument.Parse(big)).Should().Throw<PolicyValidationException>().Which;

        ex.Errors.Should().ContainSingle().Which.Message.Should().Contain("4 MiB");
    }

    [Test]
    public async Task LoadAsync_Stream_LoadsTheSamePolicyAsParse()
    {
        var bytes = await File.ReadAllBytesAsync(Fixture("valid", "design-example.json"));
        using var stream = new MemoryStream(bytes);

        var policy = await PolicyDocument.LoadAsync(stream, "from-stream.json");

        policy.SourcePath.Should().Be("from-stream.json");
        policy.Counters.Should().HaveCount(3);
    }

    [Test]
    public async Task LoadAsync_Path_ReportsTheFileInErrors()
    {
        var file = Fixture("invalid", "version-unknown.json");

        var act = () => PolicyDocument.LoadAsync(file);

        (await act.Should().ThrowAsync<PolicyValidationException>()).Which.FilePath.Should().Be(file);
    }

    [Test]
    public void Parse_ByteOrderMark_IsSkipped()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("{\"version\":\"1\"}")).ToArray();

        PolicyDocument.Parse(bytes).Version.Should().Be("1");
    }

    [Test]
    public void Parse_UnknownVersion_NamesTheSupportedVersions()
    {
        var ex = FluentActions.Invoking(() => PolicyDocument.Parse("""{ "version": "7" }"""))
            .Should().Throw<PolicyValidationException>().Which;

        ex.Errors.Should().ContainSingle().Which.Message.Should().Be("Unknown version \"7\". Supported versions: \"1\".");
        PolicyDocument.SupportedVersions.Should().Equal("1");
    }

    [Test]
    public void Parse_EmptyRule_IsValidAndAllows()
    {
        var policy = PolicyDocument.Parse("""{ "version": "1", "tools": { "list_*": {} } }""");

        policy.Compiled.Tools.TryMatch("list_flows", out var rule, out _).Should().BeTrue();
        rule.Action.Should().Be(PolicyAction.Allow);
        rule.Pointer.Should().Be("/tools/list_*");
    }

    [Test]
    public void Parse_KeyWithSlash_IsEscapedInThePointer()
    {
        var policy = PolicyDocument.Parse("""{ "version": "1", "tools": { "a/b~c": { "action": "deny" } } }""");

        policy.Compiled.Tools.TryMatch("a/b~c", out var rule, out _).Should().BeTrue();
        rule.Pointer.Should().Be("/tools/a~1b~0c");
    }
}
