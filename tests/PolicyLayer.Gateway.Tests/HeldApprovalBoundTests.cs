using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>Held approvals are bounded per session, in calls and in bytes (issue 12, item 5).</summary>
public class HeldApprovalBoundTests
{
    [Test]
    public async Task CallPastTheCountBound_IsRefusedWithTheReason_AndHeldOnceASlotIsFree()
    {
        using var proxy = new GatewayHarness(configure: o => o.MaxHeldApprovals = 2);
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("1", "approve_me"));
        var firstAsk = await proxy.ReceiveAsync();
        proxy.Send(Call("2", "approve_me"));
        await proxy.ReceiveAsync();
        var third = await proxy.RequestAsync(Call("3", "approve_me"));

        proxy.Send("""{"jsonrpc":"2.0","id":""" + firstAsk.GetProperty("id").GetRawText() + ""","result":{"action":"decline"}}""");
        (await proxy.ReceiveAsync()).GetProperty("id").GetInt32().Should().Be(1);
        var fourth = await proxy.RequestAsync(Call("4", "approve_me"));

        third.GetProperty("id").GetInt32().Should().Be(3);
        third.DeniedText().Should().Contain("already holds 2 calls").And.Contain("--max-held-approvals");
        fourth.GetProperty("method").GetString().Should().Be("elicitation/create", "a slot was freed when the first approval was answered");
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task CallPastTheByteBound_IsRefusedWithTheReason()
    {
        using var proxy = new GatewayHarness(configure: o => o.MaxHeldApprovalBytes = 1000);
        await proxy.InitializeAsync(elicitation: true);

        var small = await proxy.RequestAsync(Call("1", "approve_me", """{"note":"short"}"""));
        var large = await proxy.RequestAsync(Call("2", "approve_me", """{"note":""" + "\"" + new string('x', 2000) + "\"}"));

        small.GetProperty("method").GetString().Should().Be("elicitation/create");
        large.GetProperty("id").GetInt32().Should().Be(2);
        large.DeniedText().Should().Contain("past 1000 bytes").And.Contain("--max-held-approval-bytes");
        proxy.AuditLines.Should().Contain(a => a.GetProperty("approval").GetString() == "not_asked_held_limit");
    }

    [Test]
    public async Task ManyUnansweredApprovals_HoldNoMoreThanTheBound()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(elicitation: true);
        var asked = 0;
        var refused = 0;

        for (var i = 1; i <= 40; i++)
        {
            var answer = await proxy.RequestAsync(Call(i.ToString(System.Globalization.CultureInfo.InvariantCulture), "approve_me"));
            if (answer.TryGetProperty("method", out _))
            {
                asked++;
            }
            else
            {
                refused++;
            }
        }

        asked.Should().Be(new McpGatewayOptions().MaxHeldApprovals);
        refused.Should().Be(40 - asked);
    }
}
