using System.Diagnostics;

namespace PolicyLayer.TestUtils.Redis;

/// <summary>
/// A throw-away Redis Cluster on loopback: three primaries and three replicas, each a <see cref="RedisServer"/> with
/// cluster mode on, joined by <c>redis-cli --cluster create … --cluster-replicas 1</c>. Killed at the end.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    /// <summary>How long a node may be unreachable before its replica takes over (cluster-node-timeout).</summary>
    public static readonly TimeSpan NodeTimeout = TimeSpan.FromMilliseconds(1000);

    private readonly string _directory;

    private RedisCluster(string directory, IReadOnlyList<RedisServer> nodes)
    {
        _directory = directory;
        Nodes = nodes;
    }

    /// <summary>Every node, primaries and replicas.</summary>
    public IReadOnlyList<RedisServer> Nodes { get; }

    /// <summary>A StackExchange.Redis configuration string that names every node.</summary>
    public string Configuration => string.Join(',', Nodes.Select(n => n.Configuration));

    /// <summary>Starts six nodes and forms the cluster; fails under <c>CI=true</c> when redis-server or redis-cli is missing.</summary>
    public static async Task<RedisCluster> StartForTestAsync(int primaries = 3)
    {
        var cli = RedisServer.RequireExecutable("redis-cli");
        var directory = Directory.CreateTempSubdirectory("policylayer-cluster-").FullName;
        var nodes = new List<RedisServer>();
        try
        {
            for (var i = 0; i < primaries * 2; i++)
            {
                nodes.Add(await RedisServer.StartForTestAsync(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", Path.Combine(directory, $"nodes-{i}.conf"),
                    "--cluster-node-timeout", ((int)NodeTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "--dir", directory));
            }

            var cluster = new RedisCluster(directory, nodes);
            await cluster.CreateAsync(cli);
            return cluster;
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Waits until every running node sees the whole cluster healthy (cluster_state:ok) and <paramref name="primaries"/> primaries with slots.</summary>
    public async Task WaitUntilHealthyAsync(int primaries, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var healthy = true;
            foreach (var node in Nodes.Where(n => n.IsRunning))
            {
                var info = await node.SendAsync("CLUSTER", "INFO");
                var nodesText = await node.SendAsync("CLUSTER", "NODES");
                var primariesWithSlots = nodesText.Split('\n').Count(line => line.Contains("master", StringComparison.Ordinal) && !line.Contains("fail", StringComparison.Ordinal) && line.Split(' ').Length > 8);
                healthy &= info.Contains("cluster_state:ok", StringComparison.Ordinal) && primariesWithSlots == primaries;
            }

            if (healthy)
            {
                return;
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"The cluster was not healthy within {timeout}.");
            }

            await Task.Delay(100);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A node may still be writing its config file as it dies; the temp directory is left behind.
        }
    }

    private async Task CreateAsync(string cli)
    {
        var info = new ProcessStartInfo(cli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--cluster");
        info.ArgumentList.Add("create");
        foreach (var node in Nodes)
        {
            info.ArgumentList.Add(node.Configuration);
        }

        info.ArgumentList.Add("--cluster-replicas");
        info.ArgumentList.Add("1");
        info.ArgumentList.Add("--cluster-yes");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("redis-cli did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create exited with {process.ExitCode}: {await output}{await error}");
        }

        await WaitUntilHealthyAsync(Nodes.Count / 2, TimeSpan.FromSeconds(30));

        // A replica takes over only once it has synchronised with its primary.
        var deadline = Stopwatch.StartNew();
        foreach (var node in Nodes)
        {
            while (true)
            {
                var replication = await node.SendAsync("INFO", "replication");
                if (!replication.Contains("role:slave", StringComparison.Ordinal) || replication.Contains("master_link_status:up", StringComparison.Ordinal))
                {
                    break;
                }

                if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new TimeoutException("A replica did not synchronise with its primary within 30 s.");
                }

                await Task.Delay(100);
            }
        }
    }
}
