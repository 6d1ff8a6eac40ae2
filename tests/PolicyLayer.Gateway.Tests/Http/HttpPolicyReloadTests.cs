using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests.Http;

/// <summary>
/// A new version of a policy reaches the HTTP sessions that are open: those whose visible tool list changed are sent
/// <c>notifications/tools/list_changed</c> on their GET stream, and their next call is decided by it. A grant's own policy
/// file is watched when <see cref="PolicyLayerGatewayOptions.WatchGrantPolicies"/> is on (on the fake clock here).
/// </summary>
public class HttpPolicyReloadTests
{
    private const string ListTools = """{"jsonrpc":"2.0","id":"l1","method":"tools/list"}""";

    /// <summary>The harness's policy with write_note allowed.</summary>
    private static readonly string NotesAllowed = Policy.Replace("""{ "action": "deny", "reason": "No notes." }""", "{}", StringComparison.Ordinal);

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private string _work = null!;

    [SetUp]
    public void CreateWorkspace() => _work = Directory.CreateTempSubdirectory("policylayer-http-reload-").FullName;

    [TearDown]
    public void DeleteWorkspace() => Directory.Delete(_work, recursive: true);

    [Test]
    public async Task Reload_SendsListChangedOnTheGetStreamOfAnOpenSession_AndTheNextCallIsDecidedByTheNewVersion()
    {
        PolicyEvaluator evaluator = null!;
        using var gateway = await HttpGatewayHarness.StartAsync(
            configure: o => o.Session.AnnounceToolListChanges = true,
            beforeMap: app => evaluator = app.Services.GetRequiredService<PolicyEvaluator>());
        await gateway.InitializeAsync();
        Names(await gateway.RequestAsync(ListTools)).Should().NotContain("write_note");

        evaluator.UpdatePolicy(PolicyDocument.Parse(NotesAllowed));
        var notification = await gateway.ReceiveAsync();
        var answer = await gateway.RequestAsync(Call("1", "write_note"));

        notification.GetProperty("method").GetString().Should().Be("notifications/tools/list_changed", "no request was open, so the GET stream carried it");
        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran write_note");
    }

    [Test]
    public async Task Reload_WithoutAnnounceToolListChanges_SendsNothing_ButDecidesTheNextCall()
    {
        PolicyEvaluator evaluator = null!;
        using var gateway = await HttpGatewayHarness.StartAsync(beforeMap: app => evaluator = app.Services.GetRequiredService<PolicyEvaluator>());
        await gateway.InitializeAsync();
        await gateway.RequestAsync(ListTools);

        evaluator.UpdatePolicy(PolicyDocument.Parse(NotesAllowed));
        var next = await gateway.RequestAsync(Call("1", "write_note"));

        next.GetProperty("id").GetInt32().Should().Be(1, "the next line is the call's answer: no notification came before it");
        next.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran write_note");
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task GrantsOwnPolicy_IsReloaded_OnlyWhenWatched_AndItsSessionIsTold(bool watch)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var grantPolicy = Path.Combine(_work, "team-b.json");
        await File.WriteAllTextAsync(grantPolicy, Policy);
        var grants = Path.Combine(_work, "grants.json");
        await File.WriteAllTextAsync(grants, $$"""{"grants":[{"token_sha256":"{{GrantTokens.Hash("token-b")}}","grant":"team-b","policy":"team-b.json"}]}""");
        using var gateway = await HttpGatewayHarness.StartAsync(configure: o =>
        {
            o.GrantsFile = grants;
            o.WatchGrantPolicies = watch;
            o.GrantPolicyPollInterval = Interval;
            o.Session.TimeProvider = time;
            o.Session.AnnounceToolListChanges = true;
        });
        gateway.Token = "token-b";
        await gateway.InitializeAsync();
        await gateway.RequestAsync(ListTools);
        (await gateway.RequestAsync(Call("1", "write_note"))).DeniedText().Should().Contain("No notes.");

        await File.WriteAllTextAsync(grantPolicy, NotesAllowed);
        time.Advance(Interval);
        time.Advance(Interval);

        if (watch)
        {
            (await gateway.ReceiveAsync()).GetProperty("method").GetString().Should().Be("notifications/tools/list_changed");
            (await gateway.RequestAsync(Call("2", "write_note"))).GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran write_note");
        }
        else
        {
            (await gateway.RequestAsync(Call("2", "write_note"))).DeniedText().Should().Contain("No notes.", "the grant's policy file is read once unless watched");
        }
    }

    [Test]
    public async Task WatchedGrantPolicy_ThatBecomesInvalid_KeepsTheLastGoodVersion()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var grantPolicy = Path.Combine(_work, "team-b.json");
        await File.WriteAllTextAsync(grantPolicy, Policy);
        var grants = Path.Combine(_work, "grants.json");
        await File.WriteAllTextAsync(grants, $$"""{"grants":[{"token_sha256":"{{GrantTokens.Hash("token-b")}}","grant":"team-b","policy":"team-b.json"}]}""");
        using var gateway = await HttpGatewayHarness.StartAsync(configure: o =>
        {
            o.GrantsFile = grants;
            o.WatchGrantPolicies = true;
            o.GrantPolicyPollInterval = Interval;
            o.Session.TimeProvider = time;
        });
        gateway.Token = "token-b";
        await gateway.InitializeAsync();

        await File.WriteAllTextAsync(grantPolicy, NotesAllowed.Replace("\"default\": \"deny\"", "\"default\": \"maybe\"", StringComparison.Ordinal));
        time.Advance(Interval);
        time.Advance(Interval);

        (await gateway.RequestAsync(Call("1", "write_note"))).DeniedText().Should().Contain("No notes.", "an invalid version is never put in force");
    }

    private static List<string?> Names(JsonElement answer) =>
        answer.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
}
