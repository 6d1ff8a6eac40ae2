using System.Text.RegularExpressions;
using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>One round trip per decision: the server counts one EVALSHA per operation, whatever the number of counters.</summary>
[NonParallelizable]
public sealed partial class RedisRoundTripTests
{
    [Test]
    public async Task EveryOperation_IsOneEvalsha_WhateverTheNumberOfCounters()
    {
        // A server of its own, so that no other test's commands are counted.
        await using var server = await RedisServer.StartForTestAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var store = new RedisCounterStore(connection, new RedisCounterStoreOptions { KeyPrefix = "roundtrip" });
        var requests = new[]
        {
            new CounterRequest(new CounterDefinition("a", 1000, TimeSpan.FromMinutes(1), CounterScope.Session), "s", 1),
            new CounterRequest(new CounterDefinition("b", 1000, TimeSpan.FromMinutes(1), CounterScope.Grant), "g", 1),
            new CounterRequest(new CounterDefinition("c", 1000, TimeSpan.FromMinutes(1), CounterScope.Agent), "a", 1),
            new CounterRequest(new CounterDefinition("d", 1000, TimeSpan.FromMinutes(1), CounterScope.Global), "", 5),
        };
        var budgets = new CounterBudget[requests.Length];
        await store.TryReserveAsync(requests, budgets); // loads the script (NOSCRIPT, then EVAL) on a fresh server
        await server.SendAsync("CONFIG", "RESETSTAT");

        for (var i = 0; i < 10; i++)
        {
            (await store.TryReserveAsync(requests, budgets)).IsAcquired.Should().BeTrue();
            await store.ReleaseAsync(budgets);
            await store.GetBudgetsAsync(requests, budgets);
        }

        var stats = await server.SendAsync("INFO", "commandstats");
        Calls(stats, "evalsha").Should().Be(30, "ten reservations, ten releases and ten reads of four counters each");
        Calls(stats, "eval").Should().Be(0);
        Calls(stats, "script").Should().Be(0);
        Calls(stats, "multi").Should().Be(0);
    }

    [Test]
    public async Task Reserve_AfterScriptFlush_ReloadsTheScriptAndSucceeds()
    {
        var store = new RedisCounterStore(RedisTestServer.Connection, new RedisCounterStoreOptions { KeyPrefix = RedisTestServer.UniquePrefix() });
        var counter = new CounterDefinition("a", 10, TimeSpan.FromMinutes(1), CounterScope.Global);
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "", 1));

        await RedisTestServer.Server.SendAsync("SCRIPT", "FLUSH");
        var (result, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "", 1));

        result.IsAcquired.Should().BeTrue();
        budgets[0].Remaining.Should().Be(8);
        (await RedisTestServer.Server.SendAsync("SCRIPT", "EXISTS", RedisCounterScript.Sha1Hex)).Should().Contain(":1");
    }

    private static long Calls(string commandStats, string command)
    {
        var match = CallsPattern().Matches(commandStats).FirstOrDefault(m => m.Groups[1].Value == command);
        return match is null ? 0 : long.Parse(match.Groups[2].Value);
    }

    [GeneratedRegex(@"cmdstat_([a-z|]+):calls=(\d+)")]
    private static partial Regex CallsPattern();
}
