using System.Text.Json;
using ModelContextProtocol.Client;
using FluentAssertions;
using ModelContextProtocol.Protocol;
using NUnit.Framework;

namespace PolicyLayer.TestUtils.Hosts;

/// <summary>
/// What every host must do the same way, inherited by one fixture per host (the runtime's BaseRateLimiterTests pattern):
/// same policy, same calls, same decisions, same texts, same counts. A host whose behaviour is still its own marks the
/// tests it fails <c>[Explicit]</c> by overriding them, with the reason. Where hosts differ by design, the difference is a
/// property of the host (<see cref="HasSessions"/>), and the tests assert what that property says.
/// </summary>
/// <remarks>
/// <c>add_labels</c> and <c>refund</c> count per session; the tools of the give-back, cancellation and approval tests count
/// per grant, so that those run alike on every host, stateless HTTP included.
/// </remarks>
public abstract class HostContractTests
{
    /// <summary>The policy every host is started with.</summary>
    public const string Policy = """
        {
          "version": "1",
          "default": "deny",
          "hide": ["secret_tool"],
          "tools": {
            "read_note": {},
            "add_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 2, "scope": "session" } ] },
            "refund": {
              "require": [ { "path": "args.reason", "op": "exists" } ],
              "deny_if": [ { "path": "args.amount", "op": "gt", "value": 1000, "reason": "Refunds over 1000 are done by people." } ],
              "limits": [ { "counter": "refund_total", "window": "day", "max": 500, "scope": "session", "increment_from": "args.amount" } ]
            },
            "execute_flow": {
              "action": "require_approval",
              "reason": "Runs a production workflow.",
              "limits": [ { "counter": "executions", "window": "minute", "max": 5, "scope": "grant" } ]
            },
            "fail_tool": { "limits": [ { "counter": "failures", "window": "minute", "max": 1, "scope": "grant" } ] },
            "slow_write": { "limits": [ { "counter": "writes", "window": "minute", "max": 1, "scope": "grant" } ] },
            "wipe": { "action": "deny", "reason": "Wiping is done by people." },
            "grant_tool": { "limits": [ { "counter": "per_grant", "window": "minute", "max": 1, "scope": "grant" } ] }
          }
        }
        """;

    private ContractHost? _host;

    /// <summary>
    /// Whether each client of the host is a session of its own: false on stateless Streamable HTTP, where no request has
    /// a session, so a session-scoped limit refuses every call (it never pools callers into one bucket), and a client whose
    /// protocol has no input requests (<c>2025-11-25</c>) cannot be asked for an approval.
    /// </summary>
    protected virtual bool HasSessions => true;

    /// <summary>The <c>_meta</c> of that refusal.</summary>
    protected static string NoSessionMeta(string limit) =>
        $$"""{"outcome":"deny","kind":"denied","ruleId":"{{limit}}","reason":"Refused: limit {{limit}} counts per session, and the caller has no session id. Calls are never counted in a bucket shared with strangers.","policyRevision":"{{PolicyRevision}}"}""";

    /// <summary>The refusal of a session-scoped limit's call by a caller without a session, as the agent reads it.</summary>
    protected static string NoSessionText(string tool, string limit) =>
        $"[POLICY DENIED] The call of '{tool}' was denied: Refused: limit {limit} counts per session, and the caller has no session id. Calls are never counted in a bucket shared with strangers. Rule: {limit}. Do not retry: the same call will be refused again.";

    /// <summary>Starts the host under test.</summary>
    protected abstract Task<ContractHost> StartHostAsync(ContractHostSettings settings);

    [TearDown]
    public async Task StopHost()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
            _host = null;
        }
    }

    protected async Task<ContractHost> StartAsync(bool shadowMode = false, string? grant = "contract-grant", TimeSpan? approvalTimeout = null)
    {
        _host = await StartHostAsync(new ContractHostSettings
        {
            Policy = Policy,
            ShadowMode = shadowMode,
            Grant = grant,
            ApprovalTimeout = approvalTimeout ?? TimeSpan.FromSeconds(30),
        });
        return _host;
    }

    [Test]
    public virtual async Task ToolsList_LeavesOutHiddenAndDeniedTools()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());

        var names = (await client.ListToolsAsync()).Select(t => t.Name).ToList();

        names.Should().Contain(["read_note", "add_labels", "refund", "execute_flow"]);
        names.Should().NotContain(["secret_tool", "wipe"]);
    }

    [Test]
    public virtual async Task DeniedTool_IsRefusedWithTheOneTextAndMeta_AndNeverRuns()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());

        var result = await client.CallToolAsync("wipe");

        result.IsError.Should().BeTrue();
        Text(result).Should().Be("[POLICY DENIED] The call of 'wipe' was denied: Wiping is done by people. Rule: /tools/wipe. Do not retry: the same call will be refused again.");
        Meta(result).Should().Be($$"""{"outcome":"deny","kind":"denied","ruleId":"/tools/wipe","reason":"Wiping is done by people.","policyRevision":"{{PolicyRevision}}"}""");
        host.StartCount("wipe").Should().Be(0);
    }

    [Test]
    public virtual async Task HiddenTool_IsRefusedAsHidden()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());

        var result = await client.CallToolAsync("secret_tool");

        Text(result).Should().Be("[POLICY DENIED] The call of 'secret_tool' was denied: Tool 'secret_tool' is hidden by the policy. Rule: (hidden). Do not retry: the same call will be refused again.");
        Meta(result).Should().Be($$"""{"outcome":"deny","kind":"denied","ruleId":"(hidden)","reason":"Tool 'secret_tool' is hidden by the policy.","policyRevision":"{{PolicyRevision}}"}""");
        host.StartCount("secret_tool").Should().Be(0);
    }

    [Test]
    public virtual async Task ThirdCallInAMinute_IsRateLimitedWithOneRetryTimeAndWhatRemains()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());

        var first = await client.CallToolAsync("add_labels");
        var second = await client.CallToolAsync("add_labels");
        var third = await client.CallToolAsync("add_labels");

        if (!HasSessions)
        {
            // The bug this host once had: every caller without a session was counted in one bucket of the process.
            foreach (var result in new[] { first, second, third })
            {
                Text(result).Should().Be(NoSessionText("add_labels", "/tools/add_labels/limits/0"));
                Meta(result).Should().Be(NoSessionMeta("/tools/add_labels/limits/0"));
            }

            host.StartCount("add_labels").Should().Be(0);
            return;
        }

        first.IsError.Should().NotBe(true);
        second.IsError.Should().NotBe(true);
        var decision = MetaElement(third);
        var retryAfter = decision.GetProperty("retryAfterSeconds").GetInt64();
        retryAfter.Should().BeInRange(1, 60);
        Text(third).Should().Be($"[POLICY DENIED] The call of 'add_labels' was rate-limited: Rate limit reached: counter 'labels' allows 2 per 1 min per session. Rule: /tools/add_labels/limits/0. Retry after {retryAfter} s.");
        Meta(third).Should().Be($$"""{"outcome":"deny","kind":"rate_limited","ruleId":"/tools/add_labels/limits/0","reason":"Rate limit reached: counter 'labels' allows 2 per 1 min per session.","retryAfterSeconds":{{retryAfter}},"remaining":0,"policyRevision":"{{PolicyRevision}}"}""");
        host.StartCount("add_labels").Should().Be(2);
    }

    [Test]
    public virtual async Task SessionScopedLimit_CountsEachClientApart_AndNeverPoolsCallersWithoutASession()
    {
        var host = await StartAsync();
        await using var first = await host.ConnectAsync(new ContractClient());
        await using var second = await host.ConnectAsync(new ContractClient());

        var byFirst = new[] { await first.CallToolAsync("add_labels"), await first.CallToolAsync("add_labels"), await first.CallToolAsync("add_labels") };
        var bySecond = await second.CallToolAsync("add_labels");

        if (!HasSessions)
        {
            byFirst.Append(bySecond).Should().OnlyContain(r => Text(r) == NoSessionText("add_labels", "/tools/add_labels/limits/0"));
            host.StartCount("add_labels").Should().Be(0);
            return;
        }

        byFirst.Take(2).Should().OnlyContain(r => r.IsError != true);
        MetaElement(byFirst[2]).GetProperty("kind").GetString().Should().Be("rate_limited");
        bySecond.IsError.Should().NotBe(true, "the second client's session has a budget of its own: " + Text(bySecond));
        host.StartCount("add_labels").Should().Be(3);
    }

    [Test]
    public virtual async Task SpendCap_RefusesWhatDoesNotFit_AndSaysWhatRemains()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());

        var first = await client.CallToolAsync("refund", Args(("amount", 400), ("reason", "late")));
        var over = await client.CallToolAsync("refund", Args(("amount", 300), ("reason", "late")));

        if (!HasSessions)
        {
            Text(first).Should().Be(NoSessionText("refund", "/tools/refund/limits/0"));
            Text(over).Should().Be(NoSessionText("refund", "/tools/refund/limits/0"));
            host.StartCount("refund").Should().Be(0);
            return;
        }

        first.IsError.Should().NotBe(true);
        var retryAfter = MetaElement(over).GetProperty("retryAfterSeconds").GetInt64();
        retryAfter.Should().BeInRange(86_000, 86_400, "the 400 counted leave the day's window a day after they were counted");
        const string reason = "Spend cap reached: counter 'refund_total' allows 500 per 1 d per session, counted from args.amount; this call asks for 300.";
        Text(over).Should().Be($"[POLICY DENIED] The call of 'refund' was refused: {reason} Remaining: 100 (args.amount) of 500. Rule: /tools/refund/limits/0. Retry after {retryAfter} s.");
        Meta(over).Should().Be($$"""{"outcome":"deny","kind":"spend_cap_reached","ruleId":"/tools/refund/limits/0","reason":"{{reason}}","retryAfterSeconds":{{retryAfter}},"remaining":100,"policyRevision":"{{PolicyRevision}}"}""");
        host.StartCount("refund").Should().Be(1);
    }

    [Test]
    public virtual async Task MissingRequiredArgument_SaysTheArgumentsCanBeFixed()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());

        var result = await client.CallToolAsync("refund", Args(("amount", 5)));

        Text(result).Should().Be("[POLICY DENIED] The call of 'refund' was refused because of its arguments: Refused: the policy requires args.reason exists. Rule: /tools/refund/require/0. Fix the arguments and call again.");
        Meta(result).Should().Be($$"""{"outcome":"deny","kind":"invalid_arguments","ruleId":"/tools/refund/require/0","reason":"Refused: the policy requires args.reason exists.","policyRevision":"{{PolicyRevision}}"}""");
        host.StartCount("refund").Should().Be(0);
    }

    [Test]
    public virtual async Task CaseVariantArgumentNamesInANestedObject_AreRefused_AndTheToolNeverRuns()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());
        using var details = JsonDocument.Parse("""{"amount":1,"Amount":1000}""");

        var result = await client.CallToolAsync("refund", new Dictionary<string, object?> { ["amount"] = 1, ["reason"] = "r", ["details"] = details.RootElement });

        result.IsError.Should().BeTrue();
        MetaElement(result).GetProperty("kind").GetString().Should().Be("invalid_arguments");
        Text(result).Should().Contain("ambiguous");
        host.StartCount("refund").Should().Be(0);
    }

    [Test]
    public virtual async Task ToolThatReportsFailure_GivesItsUnitBack()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());

        var first = await client.CallToolAsync("fail_tool");
        var second = await client.CallToolAsync("fail_tool");

        first.IsError.Should().BeTrue();
        Text(second).Should().Be("backend said no", "the failed first call gave its one unit back");
        host.StartCount("fail_tool").Should().Be(2);
    }

    [Test]
    public virtual async Task CallCancelledAfterTheToolStarted_KeepsItsUnits()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());
        using var cancel = new CancellationTokenSource();

        var slow = client.CallToolAsync("slow_write", cancellationToken: cancel.Token).AsTask();
        await host.WaitForToolStartAsync("slow_write");
        await cancel.CancelAsync();
        var cancelled = async () => await slow;
        await cancelled.Should().ThrowAsync<OperationCanceledException>();

        var again = await CallEventuallyDecidedAsync(client, "slow_write");
        Text(again).Should().StartWith("[POLICY DENIED]", "the cancelled call may have acted, so its unit stays counted");
        MetaElement(again).GetProperty("kind").GetString().Should().Be("rate_limited");
    }

    [Test]
    public virtual async Task ApprovalAccepted_TheCallRunsOnce()
    {
        var host = await StartAsync();
        string? asked = null;
        await using var client = await host.ConnectAsync(new ContractClient
        {
            Elicit = (request, _) =>
            {
                asked = request?.Message;
                return ValueTask.FromResult(new ElicitResult { Action = "accept", Content = new Dictionary<string, JsonElement> { ["approve"] = JsonSerializer.SerializeToElement(true) } });
            },
        });

        var result = await client.CallToolAsync("execute_flow", Args(("id", "nightly")));

        Text(result).Should().Be("executed nightly");
        asked.Should().Contain("'execute_flow'").And.Contain("Why approval is needed: Runs a production workflow.").And.Contain("id = \"nightly\"");
        host.StartCount("execute_flow").Should().Be(1);
    }

    [TestCase("decline", "The person at the client declined this call.")]
    [TestCase("cancel", "The person at the client cancelled the approval request.")]
    public virtual async Task ApprovalDeclinedOrCancelled_IsRefusedAsDeclined_AndMayBeAskedAgain(string action, string why)
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient
        {
            Elicit = (_, _) => ValueTask.FromResult(new ElicitResult { Action = action }),
        });

        var result = await client.CallToolAsync("execute_flow", Args(("id", "nightly")));

        Text(result).Should().Be($"[POLICY DENIED] The call of 'execute_flow' needs a person's approval, which was not given: {why} Why approval is needed: Runs a production workflow. Rule: /tools/execute_flow. Calling again asks for approval again; do so only if the person is expected to approve.");
        Meta(result).Should().Be($$"""{"outcome":"require_approval","kind":"approval_declined","ruleId":"/tools/execute_flow","reason":"{{why}} Why approval is needed: Runs a production workflow.","policyRevision":"{{PolicyRevision}}"}""");
        host.StartCount("execute_flow").Should().Be(0);
    }

    [Test]
    public virtual async Task ApprovalNotAnsweredInTime_IsRefusedAsTimedOut()
    {
        var host = await StartAsync(approvalTimeout: TimeSpan.FromSeconds(1));
        await using var client = await host.ConnectAsync(new ContractClient
        {
            Elicit = async (_, cancellationToken) =>
            {
                // Longer than the time-out, but bounded: a client may not be told that the request was abandoned.
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
                return new ElicitResult { Action = "decline" };
            },
        });

        var result = await client.CallToolAsync("execute_flow", Args(("id", "nightly")));

        // With a session the gate waits for the answer; without one it asks through an input request and judges the retry.
        var why = (HasSessions ? "Nobody answered the approval request within 1 s." : "The approval came after the 1 s allowed.") + " Why approval is needed: Runs a production workflow.";
        Text(result).Should().Be($"[POLICY DENIED] The call of 'execute_flow' needs a person's approval, which did not come in time: {why} Rule: /tools/execute_flow. Calling again asks for approval again; do so only if the person is expected to approve.");
        Meta(result).Should().Be($$"""{"outcome":"require_approval","kind":"approval_timed_out","ruleId":"/tools/execute_flow","reason":"{{why}}","policyRevision":"{{PolicyRevision}}"}""");
        host.StartCount("execute_flow").Should().Be(0);
    }

    [Test]
    public virtual async Task ClientWithoutElicitation_IsRefusedAsApprovalImpossible_WithTheTrueReason()
    {
        var host = await StartAsync();
        await using var client = await host.ConnectAsync(new ContractClient());

        var result = await client.CallToolAsync("execute_flow", Args(("id", "nightly")));

        const string why = "This client cannot be asked: it did not declare the MCP elicitation capability. Why approval is needed: Runs a production workflow.";
        Text(result).Should().Be($"[POLICY DENIED] The call of 'execute_flow' needs a person's approval, which cannot be asked for from this client: {why} Rule: /tools/execute_flow. Do not retry from this client: it will be refused the same way.");
        Meta(result).Should().Be($$"""{"outcome":"require_approval","kind":"approval_impossible","ruleId":"/tools/execute_flow","reason":"{{why}}","policyRevision":"{{PolicyRevision}}"}""");
        host.StartCount("execute_flow").Should().Be(0);
    }

    [Test]
    public virtual async Task InitializeEraClientThatDeclaresElicitation_IsAskedWhereItCanBe_ElseRefusedWithTheTrueReason()
    {
        // The TypeScript SDK's client speaks 2025-11-25 and declares elicitation. Over stateless HTTP it can be neither
        // sent a request (no session) nor answered with an input request (its protocol has none); it was once refused as
        // "(error)", then told that it had not declared elicitation.
        var host = await StartAsync();
        var asked = 0;
        await using var client = await host.ConnectAsync(new ContractClient
        {
            ProtocolVersion = "2025-11-25",
            Elicit = (_, _) =>
            {
                Interlocked.Increment(ref asked);
                return ValueTask.FromResult(new ElicitResult { Action = "accept", Content = new Dictionary<string, JsonElement> { ["approve"] = JsonSerializer.SerializeToElement(true) } });
            },
        });

        var result = await client.CallToolAsync("execute_flow", Args(("id", "nightly")));

        if (!HasSessions)
        {
            MetaElement(result).GetProperty("kind").GetString().Should().Be("approval_impossible");
            Text(result).Should().Contain("cannot send it a request on this transport (stateless HTTP)")
                .And.Contain("does not support multi-round-trip requests")
                .And.NotContain("did not declare")
                .And.NotContain("(error)");
            asked.Should().Be(0);
            host.StartCount("execute_flow").Should().Be(0);
            return;
        }

        Text(result).Should().Be("executed nightly");
        asked.Should().Be(1);
        host.StartCount("execute_flow").Should().Be(1);
    }

    [Test]
    public virtual async Task ShadowMode_RefusesNothing_AndListsEverything()
    {
        var host = await StartAsync(shadowMode: true);
        await using var client = await host.ConnectAsync(new ContractClient());

        var wipe = await client.CallToolAsync("wipe");
        var names = (await client.ListToolsAsync()).Select(t => t.Name).ToList();

        Text(wipe).Should().Be("wiped");
        names.Should().Contain(["wipe", "secret_tool"]);
    }

    [Test]
    public virtual async Task CallerWithoutAGrant_IsRefusedByAGrantLimit_NeverPooled()
    {
        var host = await StartAsync(grant: null);
        await using var client = await host.ConnectAsync(new ContractClient());

        var result = await client.CallToolAsync("grant_tool");

        Text(result).Should().Contain("counts per grant, and the caller has no grant id");
        host.StartCount("grant_tool").Should().Be(0);
    }

    [Test]
    public virtual async Task CallerWithAGrant_IsCountedUnderIt()
    {
        var host = await StartAsync(grant: "g-1");
        await using var client = await host.ConnectAsync(new ContractClient());

        (await client.CallToolAsync("grant_tool")).IsError.Should().NotBe(true);
        MetaElement(await client.CallToolAsync("grant_tool")).GetProperty("kind").GetString().Should().Be("rate_limited");
    }

    protected static Dictionary<string, object?> Args(params (string Name, object? Value)[] arguments) =>
        arguments.ToDictionary(a => a.Name, a => a.Value);

    protected static string Text(CallToolResult result) =>
        string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    protected static JsonElement MetaElement(CallToolResult result)
    {
        result.Meta.Should().NotBeNull("a refusal carries _meta[\"policylayer/decision\"]: " + Text(result));
        return JsonSerializer.SerializeToElement(result.Meta!["policylayer/decision"]);
    }

    /// <summary>The revision of <see cref="Policy"/>, which every refusal's <c>_meta</c> names.</summary>
    protected static string PolicyRevision { get; } = PolicyDocument.Parse(Policy).Revision;

    protected static string Meta(CallToolResult result) => JsonSerializer.Serialize(MetaElement(result), ReadableJson);

    private static readonly JsonSerializerOptions ReadableJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // A call right after a cancellation may race the host's bookkeeping of the cancelled call; decided calls are what count.
    private static async Task<CallToolResult> CallEventuallyDecidedAsync(McpClient client, string tool)
    {
        await Task.Delay(200);
        return await client.CallToolAsync(tool);
    }
}
