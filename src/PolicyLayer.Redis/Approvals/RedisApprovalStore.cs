using System.Globalization;
using StackExchange.Redis;

namespace PolicyLayer;

/// <summary>
/// An <see cref="ApprovalStore"/> in Redis: records survive a restart and are shared by every instance, each answer and
/// each use is one Lua script (atomic), and the store keeps at most <see cref="RedisApprovalStoreOptions.MaxRecords"/>
/// records, each a hash that expires by itself once finished.
/// </summary>
public sealed class RedisApprovalStore : ApprovalStore
{
    // KEYS: index, record. ARGV: now ms, max records, id, created ms, time to live ms, then field/value pairs.
    // Forgets index entries whose record expired; when full, forgets the oldest finished record; else refuses (0).
    private const string AddScript = """
        local now = tonumber(ARGV[1])
        local max = tonumber(ARGV[2])
        local prefix = string.sub(KEYS[2], 1, string.len(KEYS[2]) - string.len(ARGV[3]))
        local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
        local live = 0
        local oldest = nil
        for _, id in ipairs(ids) do
          local key = prefix .. id
          local fields = redis.call('HMGET', key, 'status', 'expires')
          if not fields[1] then
            redis.call('ZREM', KEYS[1], id)
          else
            live = live + 1
            local status = tonumber(fields[1])
            local finished = (status ~= 0 and status ~= 1) or now >= tonumber(fields[2])
            if finished and not oldest then oldest = id end
          end
        end
        if live >= max then
          if not oldest then return 0 end
          redis.call('DEL', prefix .. oldest)
          redis.call('ZREM', KEYS[1], oldest)
        end
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        local values = {}
        for i = 6, #ARGV do values[#values + 1] = ARGV[i] end
        redis.call('HSET', KEYS[2], unpack(values))
        redis.call('PEXPIRE', KEYS[2], ARGV[5])
        redis.call('ZADD', KEYS[1], tonumber(ARGV[4]), ARGV[3])
        return 1
        """;

    // KEYS: record. ARGV: now ms, status (1 approve, 2 deny), decided by, note (may be empty).
    private const string DecideScript = """
        local fields = redis.call('HMGET', KEYS[1], 'status', 'expires')
        if not fields[1] then return 'not_found' end
        local status = tonumber(fields[1])
        if (status == 0 or status == 1) and tonumber(ARGV[1]) >= tonumber(fields[2]) then return 'expired' end
        if status ~= 0 then return 'already' end
        redis.call('HSET', KEYS[1], 'status', ARGV[2], 'by', ARGV[3], 'at', ARGV[1])
        if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'note', ARGV[4]) end
        return 'decided'
        """;

    // KEYS: record. ARGV: now ms. An approved, unexpired record becomes used: 1 for the first caller only.
    private const string UseScript = """
        local fields = redis.call('HMGET', KEYS[1], 'status', 'expires')
        if not fields[1] or tonumber(fields[1]) ~= 1 or tonumber(ARGV[1]) >= tonumber(fields[2]) then return 0 end
        redis.call('HSET', KEYS[1], 'status', 4)
        return 1
        """;

    private readonly IConnectionMultiplexer _connection;
    private readonly int _database;
    private readonly string _keys;
    private readonly int _maxRecords;
    private readonly TimeSpan _keepFinishedFor;
    private readonly TimeSpan _pollInterval;
    private readonly TimeProvider _time;

    /// <summary>Creates a store on <paramref name="connection"/>.</summary>
    /// <param name="connection">The Redis connection; the store does not dispose it.</param>
    /// <param name="options">Key prefix, bounds and clock; null for the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public RedisApprovalStore(IConnectionMultiplexer connection, RedisApprovalStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new RedisApprovalStoreOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(options.KeyPrefix, "RedisApprovalStoreOptions.KeyPrefix");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRecords, 1, "RedisApprovalStoreOptions.MaxRecords");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.KeepFinishedFor, TimeSpan.Zero, "RedisApprovalStoreOptions.KeepFinishedFor");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero, "RedisApprovalStoreOptions.PollInterval");
        ArgumentNullException.ThrowIfNull(options.TimeProvider, "RedisApprovalStoreOptions.TimeProvider");
        _connection = connection;
        _database = options.Database;
        _keys = "{" + options.KeyPrefix + ":approvals}:";
        _maxRecords = options.MaxRecords;
        _keepFinishedFor = options.KeepFinishedFor;
        _pollInterval = options.PollInterval;
        _time = options.TimeProvider;
    }

    private IDatabase Database => _connection.GetDatabase(_database);

    private RedisKey Index => _keys + "index";

    /// <inheritdoc/>
    public override async ValueTask<bool> TryAddAsync(ApprovalRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var args = new List<RedisValue>
        {
            now, _maxRecords, record.Id, record.CreatedAt.ToUnixTimeMilliseconds(), // Relative, on the application's clock: Redis's own clock may differ from it.
            Math.Max(1, (long)Math.Ceiling((record.ExpiresAt + _keepFinishedFor - _time.GetUtcNow()).TotalMilliseconds)),
            "id", record.Id, "tool", record.ToolName, "args", record.ArgumentsJson, "fp", record.Fingerprint,
            "rule", record.RuleId, "reason", record.Reason, "created", record.CreatedAt.ToUnixTimeMilliseconds(),
            "expires", record.ExpiresAt.ToUnixTimeMilliseconds(), "status", (int)record.Status,
        };
        Optional(args, "grant", record.GrantId);
        Optional(args, "user", record.UserId);
        Optional(args, "agent", record.AgentId);
        Optional(args, "rev", record.PolicyRevision);
        var key = RecordKey(record.Id);
        return (long)await Database.ScriptEvaluateAsync(AddScript, [Index, key], [.. args]).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public override async ValueTask<ApprovalRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var fields = await Database.HashGetAllAsync(RecordKey(id)).ConfigureAwait(false);
        return Read(fields)?.AsOf(_time.GetUtcNow());
    }

    /// <inheritdoc/>
    public override async ValueTask<IReadOnlyList<ApprovalRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var database = Database;
        var ids = await database.SortedSetRangeByRankAsync(Index, 0, -1, Order.Descending).ConfigureAwait(false);
        var reads = ids.Select(id => database.HashGetAllAsync(RecordKey(id!))).ToArray();
        var now = _time.GetUtcNow();
        var records = new List<ApprovalRecord>(ids.Length);
        foreach (var read in reads)
        {
            if (Read(await read.ConfigureAwait(false)) is { } record)
            {
                records.Add(record.AsOf(now));
            }
        }

        return records;
    }

    /// <inheritdoc/>
    public override async ValueTask<ApprovalDecisionResult> DecideAsync(string id, bool approve, string decidedBy, string? note, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentException.ThrowIfNullOrEmpty(decidedBy);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var result = (string?)await Database.ScriptEvaluateAsync(
            DecideScript, [RecordKey(id)], [now, approve ? 1 : 2, decidedBy, note ?? string.Empty]).ConfigureAwait(false);
        return result switch
        {
            "decided" => ApprovalDecisionResult.Decided,
            "not_found" => ApprovalDecisionResult.NotFound,
            "expired" => ApprovalDecisionResult.Expired,
            _ => ApprovalDecisionResult.AlreadyDecided,
        };
    }

    /// <inheritdoc/>
    public override async ValueTask<bool> TryUseAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return (long)await Database.ScriptEvaluateAsync(UseScript, [RecordKey(id)], [now]).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public override async ValueTask WaitForChangeAsync(string id, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        var wait = maxWait < _pollInterval ? maxWait : _pollInterval;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private RedisKey RecordKey(string id) => _keys + "rec:" + id;

    private static void Optional(List<RedisValue> args, string field, string? value)
    {
        if (value is not null)
        {
            args.Add(field);
            args.Add(value);
        }
    }

    private static ApprovalRecord? Read(HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var fields = entries.ToDictionary(e => (string)e.Name!, e => (string?)e.Value, StringComparer.Ordinal);
        string? Get(string name) => fields.TryGetValue(name, out var value) ? value : null;
        DateTimeOffset Time(string name) => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(Get(name)!, CultureInfo.InvariantCulture));
        return new ApprovalRecord
        {
            Id = Get("id")!,
            ToolName = Get("tool")!,
            ArgumentsJson = Get("args")!,
            Fingerprint = Get("fp")!,
            GrantId = Get("grant"),
            UserId = Get("user"),
            AgentId = Get("agent"),
            RuleId = Get("rule")!,
            Reason = Get("reason")!,
            PolicyRevision = Get("rev"),
            CreatedAt = Time("created"),
            ExpiresAt = Time("expires"),
            Status = (ApprovalStatus)int.Parse(Get("status")!, CultureInfo.InvariantCulture),
            DecidedBy = Get("by"),
            DecidedAt = Get("at") is not null ? Time("at") : null,
            Note = Get("note"),
        };
    }
}
