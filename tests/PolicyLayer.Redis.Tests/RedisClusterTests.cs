using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using PolicyLayer.Redis.LoadClient;
using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>
/// The store on a real Redis Cluster: load spread over the primaries, round trips per call, no over-admission across
/// slots under concurrent load from two connections, and a primary killed mid-load (it runs last: it changes the cluster).
/// </summary>
[NonParallelizable]
public sealed partial class RedisClusterTests
{
    private RedisClusterFixture _fixture = null!;

    [OneTimeSetUp]
    public async Task StartClusterAsync() => _fixture = await RedisClusterFixture.StartAsync();

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
        }
    }

    [Test]
    [Order(1)]
    public async Task Reserve_OverManyScopes_SpreadsOperationsEvenlyOverThePrimaries()
    {
        var store = Store(_fixture.Connection);
        var counter = new CounterDefinition("calls", 1000, TimeSpan.FromMinutes(1), CounterScope.Session);
        await ResetStatsAsync();

        for (var i = 0; i < 3000; i++)
        {
            (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "session-" + i, 1))).Result.IsAcquired.Should().BeTrue();
        }

        var perPrimary = await EvalshaCallsPerNodeAsync();
        TestContext.Out.WriteLine("EVALSHA per primary: " + string.Join(", ", perPrimary.Where(p => p > 0)));
        var used = perPrimary.Where(p => p > 0).ToArray();
        used.Should().HaveCount(3, "every primary serves some scopes");
        used.Sum().Should().Be(3000, "one script call per single-counter reservation");
        var mean = used.Average();
        used.Should().OnlyContain(calls => Math.Abs(calls - mean) <= 0.15 * mean);
    }

    [Test]
    [Order(2)]
    public async Task Reserve_CountersInThreeSlots_IsOneScriptPerSlot_AndARefusalGivesBackTheOthers()
    {
        var store = Store(_fixture.Connection);
        var perGrant = new CounterDefinition("per_grant", 10, TimeSpan.FromMinutes(1), CounterScope.Grant);
        var perSession = new CounterDefinition("per_session", 1, TimeSpan.FromMinutes(1), CounterScope.Session);
        var global = new CounterDefinition("all", 10, TimeSpan.FromMinutes(1), CounterScope.Global);
        var requests = new[] { new CounterRequest(perGrant, "g", 1), new CounterRequest(perSession, "s", 1), new CounterRequest(global, "", 1) };
        requests.Select(r => _fixture.Connection.HashSlot(RedisCounterKeys.CounterKey("x", r.Counter, r.ScopeKey))).Distinct().Should().HaveCount(3);
        await ResetStatsAsync();

        var (admitted, _) = await RedisCounterStoreTests.ReserveOnAsync(store, requests);
        var afterAdmit = (await EvalshaCallsPerNodeAsync()).Sum();
        var held = System.Diagnostics.Stopwatch.StartNew();
        var (refused, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, requests);
        held.Stop();

        // The units of the slots that said yes are held at most from their script to the give-back: within this call.
        TestContext.Out.WriteLine($"refused cross-slot call, compensation included: {held.Elapsed.TotalMilliseconds:0.00} ms");
        var afterRefusal = (await EvalshaCallsPerNodeAsync()).Sum();

        admitted.IsAcquired.Should().BeTrue();
        afterAdmit.Should().Be(3, "one script per slot, sent at once");
        refused.IsAcquired.Should().BeFalse();
        refused.BlockedIndex.Should().Be(1);
        afterRefusal.Should().Be(3 + 3 + 2, "three scripts, then a give-back in each of the two slots that said yes");
        budgets.Select(b => b.Reserved).Should().Equal(0, 0, 0);
        budgets.Select(b => b.Remaining).Should().Equal(9, 0, 9);
        var read = new CounterBudget[3];
        await store.GetBudgetsAsync(requests, read);
        read.Select(b => b.Remaining).Should().Equal(9, 0, 9);
    }

    [Test]
    [Order(3)]
    public async Task Reserve_TwoConnectionsUnderConcurrentLoadAcrossSlots_NeverOverAdmit_AndKeepAllOrNone()
    {
        var prefix = RedisTestServer.UniquePrefix();
        await using var second = await RedisClusterFixture.ConnectAsync(_fixture.Cluster);
        var stores = new[] { ConcurrentWorkload.Store(_fixture.Connection, prefix), ConcurrentWorkload.Store(second, prefix) };

        var runs = await Task.WhenAll(ConcurrentWorkload.RunAsync(stores[0], 6, 60, seed: 0), ConcurrentWorkload.RunAsync(stores[1], 6, 60, seed: 6));

        await ShouldHaveAdmittedExactlyAsync([.. runs[0], .. runs[1]], stores[0]);
    }

    [Test]
    [Order(3)]
    public async Task Reserve_TwoProcessesUnderConcurrentLoadAcrossSlots_NeverOverAdmit_AndKeepAllOrNone()
    {
        // Two OS processes, each with its own connection, script cache and clock, start their load together.
        var prefix = RedisTestServer.UniquePrefix();
        var clients = new[] { StartLoadClient(prefix, seed: 0), StartLoadClient(prefix, seed: 6) };
        try
        {
            foreach (var client in clients)
            {
                (await client.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60))).Should().Be("ready");
            }

            foreach (var client in clients)
            {
                await client.StandardInput.WriteLineAsync("go");
                await client.StandardInput.FlushAsync();
            }

            var outputs = await Task.WhenAll(clients.Select(c => c.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(120))));
            var admitted = new List<(string Kind, string Value)>();
            foreach (var (client, output) in clients.Zip(outputs))
            {
                await client.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                client.ExitCode.Should().Be(0, await client.StandardError.ReadToEndAsync());
                var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                lines.Should().EndWith("done");
                admitted.AddRange(lines[..^1].Select(line => line.Split(' ')).Select(parts => (parts[0], parts.Length > 1 ? parts[1] : "")));
            }

            await ShouldHaveAdmittedExactlyAsync(admitted, ConcurrentWorkload.Store(_fixture.Connection, prefix));
        }
        finally
        {
            foreach (var client in clients)
            {
                if (!client.HasExited)
                {
                    client.Kill(entireProcessTree: true);
                }

                client.Dispose();
            }
        }
    }

    /// <summary>
    /// 720 calls against a global max of 70 fill it exactly; no grant or session counter went over its max; and each
    /// counter holds exactly the units of the calls that were admitted, nothing of the refused ones (all or none).
    /// </summary>
    private static async Task ShouldHaveAdmittedExactlyAsync(List<(string Kind, string Value)> admitted, RedisCounterStore store)
    {
        var counts = admitted.GroupBy(a => a).ToDictionary(g => g.Key, g => g.Count());
        counts[("global", "")].Should().Be(70, "720 calls against a global max of 70 fill it exactly, compensations done");
        counts.Where(a => a.Key.Kind == "grant").Should().OnlyContain(a => a.Value <= ConcurrentWorkload.PerGrant.Max);
        counts.Where(a => a.Key.Kind == "session").Should().OnlyContain(a => a.Value <= ConcurrentWorkload.PerSession.Max);

        foreach (var ((kind, value), count) in counts)
        {
            var counter = ConcurrentWorkload.CounterOf(kind);
            var budget = new CounterBudget[1];
            await store.GetBudgetsAsync(new[] { new CounterRequest(counter, value, 1) }, budget);
            (counter.Max - budget[0].Remaining).Should().Be(count, "{0} {1}", kind, value);
        }
    }

    private Process StartLoadClient(string prefix, int seed)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "PolicyLayer.Redis.LoadClient.dll"), _fixture.Cluster.Configuration, prefix,
            seed.ToString(CultureInfo.InvariantCulture), "6", "60",
        })
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    [Test]
    [Order(4)]
    public async Task Reserve_PrimaryKilledMidLoad_FailsClosedUntilTheReplicaTakesOver_ThenRecoversByItself()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = Store(_fixture.Connection, prefix, TimeSpan.FromMilliseconds(500));
        var counter = new CounterDefinition("calls", 100_000, TimeSpan.FromMinutes(10), CounterScope.Global);
        var request = new[] { new CounterRequest(counter, "", 1) };
        var budgets = new CounterBudget[1];
        for (var i = 0; i < 200; i++)
        {
            (await store.TryReserveAsync(request, budgets)).IsAcquired.Should().BeTrue();
        }

        var primary = _fixture.PrimaryOf(RedisCounterKeys.CounterKey(prefix, counter, ""));
        await Task.Delay(200); // let replication catch up with the 200 units before the crash
        await primary.KillAsync();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refused = 0;
        var admittedAfter = 0;
        TimeSpan? recoveredAt = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && admittedAfter < 20)
        {
            try
            {
                if ((await store.TryReserveAsync(request, budgets)).IsAcquired)
                {
                    recoveredAt ??= clock.Elapsed;
                    admittedAfter++;
                }
            }
            catch (CounterStoreUnavailableException)
            {
                refused++;
                await Task.Delay(50);
            }
        }

        TestContext.Out.WriteLine($"refused {refused} calls; first admitted again after {recoveredAt}");
        refused.Should().BeGreaterThan(0, "while no primary serves the slot, the store fails closed");
        recoveredAt.Should().NotBeNull("the replica takes over and the store finds it by itself");
        var read = new CounterBudget[1];
        await store.GetBudgetsAsync(request, read);
        (counter.Max - read[0].Remaining).Should().Be(200 + admittedAfter, "the units replicated before the crash survive the fail-over");
    }

    private static RedisCounterStore Store(IConnectionMultiplexer connection, string? prefix = null, TimeSpan? timeout = null) =>
        new(connection, new RedisCounterStoreOptions
        {
            KeyPrefix = prefix ?? RedisTestServer.UniquePrefix(),
            Timeout = timeout ?? TimeSpan.FromSeconds(5),
            ConfigurationCheck = RedisConfigurationCheck.Off,
        });

    private async Task ResetStatsAsync()
    {
        foreach (var node in _fixture.Cluster.Nodes.Where(n => n.IsRunning))
        {
            await node.SendAsync("CONFIG", "RESETSTAT");
        }
    }

    private async Task<long[]> EvalshaCallsPerNodeAsync()
    {
        var calls = new List<long>();
        foreach (var node in _fixture.Cluster.Nodes.Where(n => n.IsRunning))
        {
            var match = EvalshaCalls().Match(await node.SendAsync("INFO", "commandstats"));
            calls.Add(match.Success ? long.Parse(match.Groups[1].Value) : 0);
        }

        return [.. calls];
    }

    [GeneratedRegex(@"cmdstat_evalsha:calls=(\d+)")]
    private static partial Regex EvalshaCalls();
}
