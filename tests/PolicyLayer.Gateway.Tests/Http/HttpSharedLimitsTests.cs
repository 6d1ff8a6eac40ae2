using Microsoft.Extensions.DependencyInjection;
using PolicyLayer.TestUtils.Gateway;
using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests.Http;

/// <summary>
/// Two HTTP gateway instances (as behind a load balancer) on one Redis counter store share a grant's limit: the calls of
/// one grant count once across both. Needs redis-server: under CI=true its absence fails the test.
/// </summary>
[NonParallelizable]
public sealed class HttpSharedLimitsTests
{
    [Test]
    public async Task TwoGatewayInstancesOnOneRedisStore_ShareAGrantsLimit()
    {
        await using var redis = await RedisServer.StartForTestAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        void SharedStore(IServiceCollection services) => services.AddSingleton<CounterStore>(new RedisCounterStore(connection));
        using var first = await HttpGatewayHarness.StartAsync(services: SharedStore);
        using var second = await HttpGatewayHarness.StartAsync(services: SharedStore);
        await first.InitializeAsync();
        await second.InitializeAsync();

        // The harness's grant_limited allows 5 calls a minute per grant; both instances serve the grant "local".
        var answers = new List<System.Text.Json.JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add(await first.RequestAsync(Call($"{(2 * i) + 1}", "grant_limited")));
            answers.Add(await second.RequestAsync(Call($"{(2 * i) + 2}", "grant_limited")));
        }

        answers.Take(5).Select(Text).Should().AllBe("ran grant_limited", "answers:\n{0}", string.Join('\n', answers.Select(a => a.GetRawText())));
        answers[5].DeniedText().Should().Contain("limit", "the sixth call of the grant, on either instance, is over the shared limit of 5");
        (first.Child.CalledTools.Count() + second.Child.CalledTools.Count()).Should().Be(5);
    }

    private static string? Text(System.Text.Json.JsonElement answer) =>
        answer.TryGetProperty("result", out var result) ? result.GetProperty("content")[0].GetProperty("text").GetString() : answer.GetRawText();
}
