using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>One redis-server for the whole test run (tests keep apart by key prefix), started and killed here.</summary>
[SetUpFixture]
public sealed class RedisTestServer
{
    private static RedisServer? s_server;
    private static ConnectionMultiplexer? s_connection;

    /// <summary>The shared server.</summary>
    public static RedisServer Server => s_server ?? throw new InvalidOperationException("The Redis server did not start.");

    /// <summary>A connection to the shared server.</summary>
    public static ConnectionMultiplexer Connection => s_connection ?? throw new InvalidOperationException("The Redis server did not start.");

    /// <summary>Connection options that reconnect quickly and fail fast while disconnected, as a test wants.</summary>
    public static ConfigurationOptions Options(RedisServer server) => Options(server.Configuration);

    /// <summary>The same for a configuration string, such as a cluster's.</summary>
    public static ConfigurationOptions Options(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        options.ReconnectRetryPolicy = new LinearRetry(100);
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AllowAdmin = true;
        return options;
    }

    /// <summary>A key prefix that no other test uses.</summary>
    public static string UniquePrefix() => "test-" + Guid.NewGuid().ToString("N");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        s_server = await RedisServer.StartForTestAsync();
        s_connection = await ConnectionMultiplexer.ConnectAsync(Options(s_server));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (s_connection is not null)
        {
            await s_connection.DisposeAsync();
        }

        if (s_server is not null)
        {
            await s_server.DisposeAsync();
        }
    }
}
