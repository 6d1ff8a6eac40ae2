using System.Text.RegularExpressions;
using PolicyLayer.Cli.Common;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>
/// <c>--watch</c>: the gateway with Core's policy-file watcher on a real file, polled on the fake clock. A change is read
/// once the file has held still for one interval, so a write lands at the second poll after it.
/// </summary>
public class PolicyReloadTests
{
    /// <summary>The harness's policy with write_note allowed: shorter, so the file's size changes too.</summary>
    private static readonly string NotesAllowed = Policy.Replace("""{ "action": "deny", "reason": "No notes." }""", "{}", StringComparison.Ordinal);

    private string _work = null!;
    private string _policy = null!;

    [SetUp]
    public void CreatePolicyFile()
    {
        _work = Directory.CreateTempSubdirectory("policylayer-reload-").FullName;
        _policy = Path.Combine(_work, "policy.json");
        File.WriteAllText(_policy, Policy);
    }

    [TearDown]
    public void DeletePolicyFile() => Directory.Delete(_work, recursive: true);

    /// <summary>The CLI's <c>--watch</c> on <paramref name="path"/>, polled every <see cref="WatchInterval"/> of the harness's clock.</summary>
    private static Func<TimeProvider, TextWriter, PolicyWatch> Watching(string path) => (time, diagnostics) =>
    {
        var watch = new ProxyPolicyWatch(path, WatchInterval, time, diagnostics);
        return new PolicyWatch(watch.Initial, (evaluator, reloaded) => watch.Attach(evaluator, reloaded), watch);
    };

    [Test]
    public async Task ValidNewVersion_DecidesTheNextCall()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        await proxy.InitializeAsync();
        (await proxy.RequestAsync(Call("1", "write_note"))).DeniedText().Should().Contain("No notes.");

        File.WriteAllText(_policy, NotesAllowed);
        PollTwice(proxy);
        var answer = await proxy.RequestAsync(Call("2", "write_note"));

        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran write_note");
        proxy.Child.CalledTools.Should().Equal("write_note");
        proxy.Diagnostics.ToString().Should().StartWith($"policylayer proxy: Policy file {_policy} reloaded: the new version is in force.");
    }

    [Test]
    public async Task InvalidNewVersion_KeepsTheLastGoodOneInForceAndWritesEachErrorToStderr()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        await proxy.InitializeAsync();

        File.WriteAllText(_policy, NotesAllowed.Replace("\"default\": \"deny\"", "\"default\": \"maybe\"", StringComparison.Ordinal).Replace("\"max\": 1,", "\"max\": 0,", StringComparison.Ordinal));
        PollTwice(proxy);
        var answer = await proxy.RequestAsync(Call("1", "write_note"));

        answer.DeniedText().Should().Contain("No notes.", "the last good version is still in force");
        var stderr = proxy.Diagnostics.ToString();
        stderr.Should().Contain($"policylayer proxy: Policy file {_policy} was not reloaded: it has 3 error(s); the last good version stays in force.");
        var errors = Regex.Matches(stderr, @"^policylayer proxy: (?<file>.+):(?<line>\d+):(?<column>\d+): (?<path>\$\S*): (?<message>.+)$", RegexOptions.Multiline);
        errors.Select(e => e.Groups["file"].Value).Should().OnlyContain(f => f == _policy);
        errors.Select(e => e.Groups["path"].Value).Should().BeEquivalentTo(["$.default", "$.tools.limited.limits[0].max", "$.tools.approve_limited.limits[0].max"]);
    }

    [Test]
    public async Task HalfWrittenFile_IsNeverReadAndTheFinishedOneIsApplied()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        await proxy.InitializeAsync();
        var half = NotesAllowed.Length / 2;

        File.WriteAllText(_policy, NotesAllowed[..half]);
        proxy.Time.Advance(WatchInterval);
        (await proxy.RequestAsync(Call("1", "write_note"))).DeniedText().Should().Contain("No notes.");
        File.AppendAllText(_policy, NotesAllowed[half..]);
        proxy.Time.Advance(WatchInterval);
        (await proxy.RequestAsync(Call("2", "write_note"))).DeniedText().Should().Contain("No notes.");
        proxy.Time.Advance(WatchInterval);
        var answer = await proxy.RequestAsync(Call("3", "write_note"));

        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran write_note");
        proxy.Diagnostics.ToString().Should().NotContain("was not reloaded", "the half-written file was never parsed");
    }

    [Test]
    public async Task CounterWhoseDefinitionDidNotChange_KeepsItsUnitsAcrossAReload()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        await proxy.InitializeAsync();
        (await proxy.RequestAsync(Call("1", "limited"))).GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse();

        File.WriteAllText(_policy, NotesAllowed);
        PollTwice(proxy);
        var afterReload = await proxy.RequestAsync(Call("2", "limited"));
        var reloaded = await proxy.RequestAsync(Call("3", "write_note"));

        reloaded.GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse("the new version is in force");
        afterReload.DeniedText().Should().EndWith("Rule: /tools/limited/limits/0. Retry after 58 s.", "the unit spent before the reload still counts");
    }

    [Test]
    public async Task CounterWhoseDefinitionChanged_StartsEmpty()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        await proxy.InitializeAsync();
        await proxy.RequestAsync(Call("1", "limited"));

        File.WriteAllText(_policy, Policy.Replace("""{ "counter": "limited", "window": "minute", "max": 1,""", """{ "counter": "limited", "window": "minute", "max": 2,""", StringComparison.Ordinal) + " ");
        PollTwice(proxy);
        var second = await proxy.RequestAsync(Call("2", "limited"));
        var third = await proxy.RequestAsync(Call("3", "limited"));

        second.GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse();
        third.GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse("max 2 is a new counter: the call before the reload is not in it");
    }

    [Test]
    public async Task ReloadThatHidesAToolTheClientListed_SendsListChangedAndTheNextListLeavesItOut()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        await proxy.InitializeAsync();
        ListedNames(await proxy.RequestAsync("""{"jsonrpc":"2.0","id":"l1","method":"tools/list"}""")).Should().Contain("echo");

        File.WriteAllText(_policy, Policy.Replace("""["secret_tool"]""", """["secret_tool", "echo"]""", StringComparison.Ordinal));
        PollTwice(proxy);
        var notification = await proxy.ReceiveAsync();
        var list = await proxy.RequestAsync("""{"jsonrpc":"2.0","id":"l2","method":"tools/list"}""");

        notification.GetProperty("method").GetString().Should().Be("notifications/tools/list_changed");
        ListedNames(list).Should().NotContain("echo").And.Contain("limited");
        (await proxy.RequestAsync(Call("1", "echo"))).DeniedText().Should().Contain("Rule: (hidden).");
    }

    [Test]
    public async Task ReloadThatShowsOrHidesNothing_SendsNoListChanged()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        await proxy.InitializeAsync();
        await proxy.RequestAsync("""{"jsonrpc":"2.0","id":"l1","method":"tools/list"}""");

        File.WriteAllText(_policy, Policy.Replace("No notes.", "Notes are written by people.", StringComparison.Ordinal));
        PollTwice(proxy);

        await proxy.SyncAsync(); // The next line is the ping's answer: no notification came before it.
        (await proxy.RequestAsync(Call("1", "write_note"))).DeniedText().Should().Contain("Notes are written by people.", "the reload happened");
    }

    [Test]
    public async Task ReloadBeforeTheClientListedTools_SendsNoListChanged()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        await proxy.InitializeAsync();

        File.WriteAllText(_policy, Policy.Replace("""["secret_tool"]""", """["secret_tool", "echo"]""", StringComparison.Ordinal));
        PollTwice(proxy);

        await proxy.SyncAsync();
        ListedNames(await proxy.RequestAsync("""{"jsonrpc":"2.0","id":"l1","method":"tools/list"}""")).Should().NotContain("echo");
    }

    [Test]
    public async Task Initialize_ServerWithToolsButNoListChanged_IsAnsweredDeclaringListChanged()
    {
        using var proxy = new GatewayHarness(watch: Watching(_policy));
        proxy.Child.Capabilities = """{"tools":{},"resources":{"subscribe":true}}""";

        var answer = await proxy.InitializeAsync();

        var capabilities = answer.GetProperty("result").GetProperty("capabilities");
        capabilities.GetProperty("tools").GetProperty("listChanged").GetBoolean().Should().BeTrue();
        capabilities.GetProperty("resources").GetProperty("subscribe").GetBoolean().Should().BeTrue();
        answer.GetProperty("result").GetProperty("serverInfo").GetProperty("name").GetString().Should().Be("fake");
        answer.GetProperty("id").GetInt32().Should().Be(0);
    }

    [Test]
    public async Task Initialize_ServerWithoutTools_OrWithoutWatch_IsRelayedUnchanged()
    {
        using var watched = new GatewayHarness(watch: Watching(_policy));
        watched.Child.Capabilities = """{"resources":{}}""";
        using var unwatched = new GatewayHarness();
        unwatched.Child.Capabilities = """{"tools":{}}""";

        var withoutTools = await watched.InitializeAsync();
        var withoutWatch = await unwatched.InitializeAsync();

        withoutTools.GetProperty("result").GetProperty("capabilities").GetRawText().Should().Be("""{"resources":{}}""");
        withoutWatch.GetProperty("result").GetProperty("capabilities").GetRawText().Should().Be("""{"tools":{}}""");
    }

    /// <summary>Two polls: the first sees the change, the second reads the file once it has held still.</summary>
    private static void PollTwice(GatewayHarness proxy)
    {
        proxy.Time.Advance(WatchInterval);
        proxy.Time.Advance(WatchInterval);
    }

    private static IEnumerable<string> ListedNames(System.Text.Json.JsonElement answer) =>
        answer.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!);
}
