using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>Shadow mode (<c>--shadow</c>): every call decided, counted and audited; none refused.</summary>
public class ShadowModeTests
{
    [Test]
    public async Task DeniedCall_ReachesTheServerAndIsAuditedAsShadowedWithTheOutcomeThatWouldHaveApplied()
    {
        using var proxy = new GatewayHarness(shadow: true);
        await proxy.InitializeAsync();

        var answer = await proxy.RequestAsync(Call("1", "write_note", """{"text":"hi"}"""));

        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran write_note");
        proxy.Child.CalledTools.Should().Equal("write_note");
        var line = proxy.AuditLines.Should().ContainSingle().Subject;
        line.GetProperty("outcome").GetString().Should().Be("deny");
        line.GetProperty("shadowed").GetBoolean().Should().BeTrue();
        line.GetProperty("rule").GetString().Should().Be("/tools/write_note");
        line.GetProperty("reason").GetString().Should().Be("No notes.");
    }

    [Test]
    public async Task HiddenTool_ReachesTheServerAndIsAuditedAsHidden()
    {
        using var proxy = new GatewayHarness(shadow: true);
        await proxy.InitializeAsync();

        await proxy.RequestAsync(Call("1", "secret_tool"));

        proxy.Child.CalledTools.Should().Equal("secret_tool");
        proxy.AuditLines.Single().GetProperty("rule").GetString().Should().Be("(hidden)");
    }

    [Test]
    public async Task CallOverItsLimit_ReachesTheServerAndIsAuditedAsRateLimited()
    {
        using var proxy = new GatewayHarness(shadow: true);
        await proxy.InitializeAsync();

        await proxy.RequestAsync(Call("1", "limited"));
        await proxy.RequestAsync(Call("2", "limited"));

        proxy.Child.CalledTools.Should().Equal("limited", "limited");
        var lines = proxy.AuditLines;
        lines.Select(l => l.GetProperty("outcome").GetString()).Should().Equal("allow", "deny");
        lines.Should().OnlyContain(l => l.GetProperty("shadowed").GetBoolean());
        lines[1].GetProperty("rule").GetString().Should().Be("/tools/limited/limits/0");
        lines[1].GetProperty("retryAfterSeconds").GetDouble().Should().Be(60);
    }

    [Test]
    public async Task CallThatNeedsApproval_NobodyIsAsked_ItGoesAheadAndCountsAsAnApprovedCall()
    {
        using var proxy = new GatewayHarness(shadow: true);
        await proxy.InitializeAsync(elicitation: true);

        var first = await proxy.RequestAsync(Call("1", "approve_limited"));
        var second = await proxy.RequestAsync(Call("2", "approve_limited"));

        first.GetProperty("id").GetInt32().Should().Be(1, "no elicitation/create comes before the answer");
        second.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_limited");
        proxy.Child.CalledTools.Should().Equal("approve_limited", "approve_limited");
        var lines = proxy.AuditLines;
        lines.Select(l => l.GetProperty("outcome").GetString()).Should().Equal("allow", "deny");
        lines.Should().OnlyContain(l => l.GetProperty("shadowed").GetBoolean());
        lines[1].GetProperty("rule").GetString().Should().Be("/tools/approve_limited/limits/0", "the first call, decided as approved, spent the one unit");
    }

    [Test]
    public async Task ToolsList_IsPassedOnUnfiltered()
    {
        using var proxy = new GatewayHarness(shadow: true);
        await proxy.InitializeAsync();

        var answer = await proxy.RequestAsync("""{"jsonrpc":"2.0","id":"list","method":"tools/list"}""");

        answer.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString())
            .Should().Contain(["write_note", "secret_tool", "tidy_up"]).And.HaveCount(DefaultTools.Length);
    }

    [Test]
    public async Task ServerNeverListsItsTools_CallGoesAheadAndIsAuditedAsTheRefusalItWouldHaveBeen()
    {
        using var proxy = new GatewayHarness(shadow: true, configure: o => o.ToolListTimeout = TimeSpan.FromSeconds(3));
        proxy.Child.AnswersToolsList = false;
        await proxy.InitializeAsync();
        var timers = proxy.Time.TimersCreated;

        proxy.Send(Call("1", "echo"));
        await proxy.Time.WaitForTimerAsync(timers);
        proxy.Time.Advance(TimeSpan.FromSeconds(3));
        var answer = await proxy.ReceiveAsync();

        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        var line = proxy.AuditLines.Should().ContainSingle().Subject;
        line.GetProperty("outcome").GetString().Should().Be("deny");
        line.GetProperty("rule").GetString().Should().Be("(error)");
        line.GetProperty("shadowed").GetBoolean().Should().BeTrue();
    }
}
