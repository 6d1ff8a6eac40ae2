using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>A real three-primary, three-replica Redis Cluster for one test fixture, and a connection to it.</summary>
internal sealed class RedisClusterFixture : IAsyncDisposable
{
    private RedisClusterFixture(RedisCluster cluster, ConnectionMultiplexer connection)
    {
        Cluster = cluster;
        Connection = connection;
    }

    public RedisCluster Cluster { get; }

    public ConnectionMultiplexer Connection { get; }

    public static async Task<RedisClusterFixture> StartAsync()
    {
        var cluster = await RedisCluster.StartForTestAsync();
        return new RedisClusterFixture(cluster, await ConnectAsync(cluster));
    }

    public static Task<ConnectionMultiplexer> ConnectAsync(RedisCluster cluster) =>
        ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(cluster.Configuration));

    /// <summary>The node that serves <paramref name="key"/>'s slot as primary now.</summary>
    public RedisServer PrimaryOf(RedisKey key)
    {
        var slot = Connection.HashSlot(key);
        foreach (var server in Connection.GetServers())
        {
            var node = server.ClusterConfiguration?.GetBySlot(slot);
            if (node is not null)
            {
                var port = ((System.Net.IPEndPoint)node.EndPoint!).Port;
                return Cluster.Nodes.Single(n => n.Port == port);
            }
        }

        throw new InvalidOperationException($"No primary serves slot {slot}.");
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
