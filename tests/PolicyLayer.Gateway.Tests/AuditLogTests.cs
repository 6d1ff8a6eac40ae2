using System.Text.Json;
using FluentAssertions;
using NJsonSchema;
using NUnit.Framework;
using PolicyLayer.TestUtils;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>The audit line: docs/audit.schema.json describes every line the gateway writes, and values are recorded only on request.</summary>
public sealed class AuditLogTests
{
    private static async Task<JsonSchema> SchemaAsync() =>
        await JsonSchema.FromJsonAsync(await File.ReadAllTextAsync(RepositoryPaths.Get("docs", "audit.schema.json")));

    [Test]
    public async Task EveryKindOfLine_ValidatesAgainstTheDocumentedSchema()
    {
        var schema = await SchemaAsync();
        using var proxy = new GatewayHarness(configure: o => { o.GrantId = "g-1"; o.AuditArgumentValues = true; });
        await proxy.InitializeAsync();

        await proxy.RequestAsync(Call("1", "echo", """{"text":"hi","n":[1,2]}"""));
        await proxy.RequestAsync(Call("2", "write_note", """{"note":"x"}"""));
        await proxy.RequestAsync(Call("3", "limited"));
        await proxy.RequestAsync(Call("4", "limited"));
        await proxy.RequestAsync(Call("5", "approve_me"));
        await proxy.RequestAsync(Call("6", "tidy_up"));
        await proxy.RequestAsync(Call("7", "secret_tool"));

        var lines = proxy.Audit.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(7);
        foreach (var line in lines)
        {
            schema.Validate(line).Should().BeEmpty("every line must match docs/audit.schema.json: {0}", line);
        }

        proxy.AuditLines.Select(l => l.GetProperty("kind").GetString())
            .Should().Equal("allowed", "denied", "allowed", "rate_limited", "approval_impossible", "denied", "denied");
    }

    [Test]
    public async Task AllowedCall_RecordsTheBudgetItReservedTheCallerAndTheRisk()
    {
        using var proxy = new GatewayHarness(configure: o => o.GrantId = "g-1");
        await proxy.InitializeAsync();

        await proxy.RequestAsync(Call("1", "limited"));

        var line = proxy.AuditLines.Should().ContainSingle().Subject;
        line.GetProperty("v").GetInt32().Should().Be(1);
        line.GetProperty("grant").GetString().Should().Be("g-1");
        line.GetProperty("user").ValueKind.Should().Be(JsonValueKind.Null);
        line.GetProperty("kind").GetString().Should().Be("allowed");
        line.GetProperty("risk").GetString().Should().Be("write");
        var counter = line.GetProperty("counters").EnumerateArray().Should().ContainSingle().Subject;
        counter.GetProperty("name").GetString().Should().Be("limited");
        counter.GetProperty("scope").GetString().Should().Be("session");
        counter.GetProperty("reserved").GetInt64().Should().Be(1);
        counter.GetProperty("remaining").GetInt64().Should().Be(0);
        counter.GetProperty("max").GetInt64().Should().Be(1);
        counter.GetProperty("windowSeconds").GetDouble().Should().Be(60);
    }

    [Test]
    public async Task ArgumentValues_AreNotRecordedUnlessAskedFor()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();

        await proxy.RequestAsync(Call("1", "echo", """{"text":"secret-value"}"""));

        proxy.Audit.ToString().Should().NotContain("secret-value");
        proxy.AuditLines.Single().TryGetProperty("arguments", out _).Should().BeFalse();
    }

    [Test]
    public async Task ArgumentValues_WhenAskedFor_AreRecordedWithTheRedactedPathsReplaced()
    {
        using var proxy = new GatewayHarness(configure: o =>
        {
            o.AuditArgumentValues = true;
            o.AuditRedactedArguments.Add("password");
            o.AuditRedactedArguments.Add("card.number");
            o.AuditRedactedArguments.Add("*.token");
        });
        await proxy.InitializeAsync();

        await proxy.RequestAsync(Call("1", "echo", """
            {"text":"kept","password":"p1","card":{"number":"4111","expiry":"12/30"},"items":[{"token":"t1","qty":2}],"deep":{"a":{"token":"t2"}},"n":1.50}
            """));

        var arguments = proxy.AuditLines.Single().GetProperty("arguments");
        arguments.GetRawText().Should().Be(
            """{"text":"kept","password":"[redacted]","card":{"number":"[redacted]","expiry":"12/30"},"items":[{"token":"[redacted]","qty":2}],"deep":{"a":{"token":"[redacted]"}},"n":1.50}""");
    }
}
