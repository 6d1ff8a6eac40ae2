using System.Text.Json;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>The relay on the shared gate's out-of-band approvals: progress notifications while held, and the retry by approval id.</summary>
public sealed class OutOfBandApprovalTests
{
    [Test]
    public async Task HeldWithAProgressToken_SendsProgressUnderTheClientsToken_AndForwardsOnceApproved()
    {
        ApprovalInbox? inbox = null;
        using var proxy = new GatewayHarness(configure: o => o.ApprovalInbox = inbox = new ApprovalInbox(new InMemoryApprovalStore(new InMemoryApprovalStoreOptions { TimeProvider = o.TimeProvider }), null, null, o.TimeProvider));
        await proxy.InitializeAsync();

        proxy.Send("""{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"approve_me","arguments":{"path":"/tmp/x"},"_meta":{"progressToken":"p-7"}}}""");
        var progress = await proxy.ReceiveAsync();
        var id = (await inbox!.ListAsync()).Single().Id;
        await inbox.DecideAsync(id, approve: true, "bob", null);
        var result = await proxy.ReceiveAsync();

        progress.GetProperty("method").GetString().Should().Be("notifications/progress");
        progress.GetProperty("params").GetProperty("progressToken").GetString().Should().Be("p-7");
        progress.GetProperty("params").GetProperty("message").GetString().Should().Contain(id);
        result.GetProperty("id").GetString().Should().Be("c1");
        result.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_me");
        proxy.Child.CalledTools.Should().Equal("approve_me");
    }

    [Test]
    public async Task WithoutAProgressToken_RefusedWithAnId_TheRetryWithItIsForwardedOnce()
    {
        ApprovalInbox? inbox = null;
        using var proxy = new GatewayHarness(configure: o => o.ApprovalInbox = inbox = new ApprovalInbox(new InMemoryApprovalStore(new InMemoryApprovalStoreOptions { TimeProvider = o.TimeProvider }), null, null, o.TimeProvider));
        await proxy.InitializeAsync();

        var held = await proxy.RequestAsync(Call("1", "approve_me", """{"path":"/tmp/x"}"""));
        var decision = held.GetProperty("result").GetProperty("_meta").GetProperty("policylayer/decision");
        var id = decision.GetProperty("approvalId").GetString()!;
        await inbox!.DecideAsync(id, approve: true, "bob", null);
        var retry = """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"approve_me","arguments":{"path":"/tmp/x"},"_meta":{"policylayer/approval":""" + JsonSerializer.Serialize(id) + "}}}";
        var retried = await proxy.RequestAsync(retry);
        var replayed = await proxy.RequestAsync(retry.Replace("\"id\":2", "\"id\":3", StringComparison.Ordinal));

        decision.GetProperty("kind").GetString().Should().Be("approval_pending");
        held.DeniedText().Should().Contain(id);
        retried.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_me");
        replayed.DeniedText().Should().Contain("already used");
        proxy.Child.CalledTools.Should().Equal("approve_me");
    }

    [Test]
    public async Task TheAuditLine_SaysWhatBecameOfTheInboxApproval_ItsIdAndWhoAnswered_AndMatchesTheSchema()
    {
        ApprovalInbox? inbox = null;
        using var proxy = new GatewayHarness(configure: o => o.ApprovalInbox = inbox = new ApprovalInbox(new InMemoryApprovalStore(new InMemoryApprovalStoreOptions { TimeProvider = o.TimeProvider }), null, null, o.TimeProvider));
        await proxy.InitializeAsync();

        // Held while the agent waits (a progress token), approved by bob.
        proxy.Send("""{"jsonrpc":"2.0","id":"w","method":"tools/call","params":{"name":"approve_me","arguments":{"path":"/tmp/w"},"_meta":{"progressToken":"p"}}}""");
        await proxy.ReceiveAsync();
        var waited = (await inbox!.ListAsync()).Single().Id;
        await inbox.DecideAsync(waited, approve: true, "bob", null);
        await proxy.ReceiveAsync();

        // Refused with an id, retried after carol approved it, and retried once more.
        var held = await proxy.RequestAsync(Call("1", "approve_me", """{"path":"/tmp/x"}"""));
        var id = held.GetProperty("result").GetProperty("_meta").GetProperty("policylayer/decision").GetProperty("approvalId").GetString()!;
        await inbox.DecideAsync(id, approve: true, "carol", null);
        var retry = """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"approve_me","arguments":{"path":"/tmp/x"},"_meta":{"policylayer/approval":""" + JsonSerializer.Serialize(id) + "}}}";
        await proxy.RequestAsync(retry);
        await proxy.RequestAsync(retry.Replace("\"id\":2", "\"id\":3", StringComparison.Ordinal));

        // Refused with an id that dave then denies.
        var denied = await proxy.RequestAsync(Call("4", "approve_me", """{"path":"/tmp/y"}"""));
        var deniedId = denied.GetProperty("result").GetProperty("_meta").GetProperty("policylayer/decision").GetProperty("approvalId").GetString()!;
        await inbox.DecideAsync(deniedId, approve: false, "dave", "not today");
        await proxy.RequestAsync("""{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"approve_me","arguments":{"path":"/tmp/y"},"_meta":{"policylayer/approval":""" + JsonSerializer.Serialize(deniedId) + "}}}");

        var lines = proxy.AuditLines;
        var summary = lines.Select(l => (
            Approval: l.GetProperty("approval").GetString(),
            Id: l.TryGetProperty("approvalId", out var a) ? a.GetString() : null,
            By: l.TryGetProperty("decidedBy", out var b) ? b.GetString() : null,
            Kind: l.GetProperty("kind").GetString())).ToList();
        summary.Should().Equal(
            ("accepted", waited, "bob", "allowed"),
            ("pending", id, null, "approval_pending"),
            ("accepted", id, "carol", "allowed"),
            ("invalid", id, "carol", "approval_invalid"),
            ("pending", deniedId, null, "approval_pending"),
            ("declined", deniedId, "dave", "approval_declined"));

        var schema = await NJsonSchema.JsonSchema.FromJsonAsync(await File.ReadAllTextAsync(PolicyLayer.TestUtils.RepositoryPaths.Get("docs", "audit.schema.json")));
        foreach (var line in proxy.Audit.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            schema.Validate(line).Should().BeEmpty("every line must match docs/audit.schema.json: {0}", line);
        }
    }

    [Test]
    public async Task HttpSessions_TakeTheInboxOfTheSessionTemplate_AndTheHeldCallRunsOnceApproved()
    {
        var inbox = new ApprovalInbox(new InMemoryApprovalStore());
        using var gateway = await HttpGatewayHarness.StartAsync(configure: o => o.Session.ApprovalInbox = inbox);
        await gateway.InitializeAsync();

        var held = await gateway.RequestAsync(Call("1", "approve_me", """{"path":"/tmp/x"}"""));
        var decision = held.GetProperty("result").GetProperty("_meta").GetProperty("policylayer/decision");
        var id = decision.GetProperty("approvalId").GetString()!;
        var record = (await inbox.ListAsync()).Single();
        await inbox.DecideAsync(id, approve: true, "bob", null);
        var retried = await gateway.RequestAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"approve_me","arguments":{"path":"/tmp/x"},"_meta":{"policylayer/approval":""" + JsonSerializer.Serialize(id) + "}}}");

        decision.GetProperty("kind").GetString().Should().Be("approval_pending", "the call is held in the inbox, not refused as impossible to ask");
        record.Id.Should().Be(id);
        record.GrantId.Should().Be("local", "the record names the session's caller");
        retried.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_me");
        gateway.Child.CalledTools.Should().Equal("approve_me");
    }
}
