using System.Globalization;
using StackExchange.Redis;

namespace PolicyLayer;

/// <summary>Reads the settings of Redis servers that decide whether counts can be evicted or lost, and says what is at risk.</summary>
internal static class RedisServerSettings
{
    /// <summary>One server's risk: what can happen to counts and what to set instead.</summary>
    internal readonly record struct Risk(string Server, string Message, bool Severe);

    /// <summary>The risks of every server the connection knows (replicas too: a fail-over makes them primaries).</summary>
    /// <exception cref="RedisConnectionException">No server could be reached.</exception>
    internal static async Task<List<Risk>> FindRisksAsync(IConnectionMultiplexer connection)
    {
        var risks = new List<Risk>();
        var reached = 0;
        foreach (var server in connection.GetServers())
        {
            if (!server.IsConnected)
            {
                continue;
            }

            reached++;
            await AddRisksAsync(server, risks).ConfigureAwait(false);
        }

        if (reached == 0)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "No Redis server is connected; its settings cannot be read yet.");
        }

        return risks;
    }

    private static async Task AddRisksAsync(IServer server, List<Risk> risks)
    {
        var name = server.EndPoint.ToString() ?? "?";
        Dictionary<string, string> info;
        try
        {
            // Execute, not IServer.Info/ConfigGet: StackExchange.Redis keeps those for connections with allowAdmin.
            info = ParseInfo((string?)await server.ExecuteAsync("INFO", "memory").ConfigureAwait(false))
                .Concat(ParseInfo((string?)await server.ExecuteAsync("INFO", "persistence").ConfigureAwait(false)))
                .ToDictionary(StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException)
        {
            risks.Add(new(name, $"INFO is not allowed ({ex.Message}), so whether counts can be evicted or lost is unknown.", Severe: true));
            return;
        }

        var maxMemory = info.TryGetValue("maxmemory", out var m) && long.TryParse(m, NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes) ? bytes : 0;
        var policy = info.GetValueOrDefault("maxmemory_policy", "unknown");
        if (maxMemory > 0 && policy != "noeviction")
        {
            risks.Add(new(
                name,
                $"maxmemory-policy is {policy} with maxmemory {maxMemory}: when memory runs out Redis evicts keys, counter keys first under volatile-* policies (they all carry an expiry), and a forgotten counter admits its calls again. Set maxmemory-policy noeviction, so that a full server refuses writes and calls are refused instead.",
                Severe: true));
        }

        if (info.GetValueOrDefault("aof_enabled") == "1")
        {
            return;
        }

        string? save = null;
        try
        {
            var config = (RedisResult[]?)await server.ExecuteAsync("CONFIG", "GET", "save").ConfigureAwait(false);
            save = config is { Length: 2 } ? (string?)config[1] ?? string.Empty : null;
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException)
        {
            // CONFIG is often renamed or refused on managed services; INFO does not show the save points.
        }

        if (save is null)
        {
            risks.Add(new(name, "appendonly is off and the save points cannot be read (CONFIG GET save is not allowed): a restart may forget every count. Turn on appendonly yes.", Severe: true));
        }
        else if (save.Length == 0)
        {
            risks.Add(new(name, "neither appendonly nor snapshots (save \"\") are on: a restart forgets every count, and each counter starts with a full budget. Turn on appendonly yes.", Severe: true));
        }
        else
        {
            risks.Add(new(name, $"appendonly is off; snapshots only (save \"{save}\"): a restart forgets the counts since the last snapshot. Turn on appendonly yes (appendfsync everysec loses at most a second).", Severe: false));
        }
    }

    private static IEnumerable<KeyValuePair<string, string>> ParseInfo(string? text)
    {
        foreach (var line in (text ?? string.Empty).Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[0] != '#')
            {
                yield return new(line[..colon], line[(colon + 1)..].TrimEnd('\r'));
            }
        }
    }
}
