using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Gate;
using PolicyLayer.TestUtils.Approvals;

namespace PolicyLayer.Redis.Tests;

/// <summary>The approval store contract on Redis, and what Redis adds: records survive a restart of the server process.</summary>
public sealed class RedisApprovalStoreTests : ApprovalStoreContractTests
{
    private string _prefix = RedisTestServer.UniquePrefix();

    [SetUp]
    public void NewPrefix() => _prefix = RedisTestServer.UniquePrefix();

    protected override ApprovalStore CreateStore(FakeTimeProvider time, int maxRecords = 100) =>
        new RedisApprovalStore(RedisTestServer.Connection, new RedisApprovalStoreOptions { KeyPrefix = _prefix, TimeProvider = time, MaxRecords = maxRecords });

    [Test]
    public async Task ApprovalGivenBeforeARestart_IsUsedOnceAfterIt_AndTheCallIsCountedOnce()
    {
        const string policy = """
            {
              "version": "1",
              "tools": {
                "create_refund": {
                  "action": "require_approval",
                  "reason": "Refunds need a person.",
                  "limits": [ { "counter": "refunds", "window": "hour", "max": 5, "scope": "global" } ]
                }
              }
            }
            """;
        var time = new FakeTimeProvider(Start);
        var counters = RedisCounterStoreTests.CreateStore(time, _prefix);
        var caller = new CallerIdentity { GrantId = "grant-1", UserId = "ann" };
        var call = new GateCall(new ToolCall("create_refund", caller, new Dictionary<string, JsonElement> { ["amount"] = JsonSerializer.SerializeToElement(7000) }), null);

        // The first process holds the call and is gone; a person approves it in the inbox meanwhile.
        var before = Gate(policy, counters, CreateStore(time), time);
        var id = (await before.Gate.DecideAsync(call, new NoClient(), CancellationToken.None)).Refusal!.ApprovalId!;
        await before.Inbox.DecideAsync(id, approve: true, "bob", null);

        // A new process with new stores on the same Redis.
        var after = Gate(policy, RedisCounterStoreTests.CreateStore(time, _prefix), CreateStore(time), time);
        var retry = new GateCall(call.Call, null) { ApprovalId = id };
        var first = await after.Gate.DecideAsync(retry, new NoClient(), CancellationToken.None);
        var second = await after.Gate.DecideAsync(retry, new NoClient(), CancellationToken.None);

        first.IsAdmitted.Should().BeTrue();
        second.Refusal!.Text.Should().Contain("already used");
        var definition = after.Gate.Evaluator.Policy.Counters.Single();
        var budgets = new CounterBudget[1];
        await counters.GetBudgetsAsync(new[] { new CounterRequest(definition, "", 0) }, budgets);
        budgets[0].Remaining.Should().Be(4, "the approved call is counted once");
    }

    [Test]
    public async Task UseRedis_PutsTheApprovalsInRedisToo()
    {
        var services = new ServiceCollection();
        services.AddSingleton<StackExchange.Redis.IConnectionMultiplexer>(RedisTestServer.Connection);
        services.AddPolicyLayerApprovals();
        services.AddPolicyLayer().UseRedis(o => o.KeyPrefix = _prefix);
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<ApprovalInbox>().Store.Should().BeOfType<RedisApprovalStore>();
    }

    private static (ToolCallGate Gate, ApprovalInbox Inbox) Gate(string policy, CounterStore counters, ApprovalStore store, FakeTimeProvider time)
    {
        var evaluator = new PolicyEvaluator(PolicyDocument.Parse(policy), new PolicyEvaluatorOptions { TimeProvider = time, CounterStore = counters });
        var inbox = new ApprovalInbox(store, new ApprovalInboxOptions { HoldMode = ApprovalHoldMode.RefuseWithId }, null, time);
        return (new ToolCallGate(evaluator, new ToolCallGateOptions { Inbox = inbox }, time, null), inbox);
    }

    private sealed class NoClient : IGateClient
    {
        public GateClientFeatures Features => GateClientFeatures.None;

        public ValueTask<JsonElement> ElicitAsync(JsonElement parameters, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("Out-of-band approvals never ask the client.");
    }
}
