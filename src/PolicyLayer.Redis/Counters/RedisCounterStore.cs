using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace PolicyLayer;

/// <summary>
/// Counters in Redis, shared by every instance of a server: sliding windows that never admit more than max,
/// all-or-none reservations across counters, give-back, and keys that expire when their scope goes quiet. On one
/// Redis, and on a cluster for the counters of a call that share a hash slot, an operation is one script call (EVALSHA).
/// </summary>
/// <remarks>
/// Each counter and scope value is one key, tagged so that a Redis Cluster spreads counters and scopes over its
/// slots. A call whose counters live in different slots runs one script per slot at once and, when any of them
/// refuses or fails, gives back what the others reserved: it never over-admits, and may under-admit for the moment
/// the give-back takes. When Redis is down or slower than <see cref="RedisCounterStoreOptions.Timeout"/>, every
/// operation throws <see cref="CounterStoreUnavailableException"/>; the store recovers by itself when Redis is back.
/// </remarks>
public sealed partial class RedisCounterStore : CounterStore
{
    private const int TopologyUnknown = 0;
    private const int TopologyStandalone = 1;
    private const int TopologyCluster = 2;

    private readonly IConnectionMultiplexer _connection;
    private readonly int _database;
    private readonly string _prefix;
    private readonly bool _serverClock;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _timeout;
    private readonly RedisValue _slackMilliseconds;
    private readonly RedisConfigurationCheck _check;
    private readonly ILogger _logger;
    private readonly object _checkLock = new();
    private Task<string?>? _checkTask;
    private int _topology;

    /// <summary>Creates a store on an existing connection, which the store uses but does not own or dispose.</summary>
    /// <param name="connection">The connection to Redis; one for the whole process, as StackExchange.Redis intends.</param>
    /// <param name="options">The store's options; defaults when <see langword="null"/>.</param>
    /// <param name="logger">Where the store reports risky server settings and failed give-backs; none when <see langword="null"/>.</param>
    public RedisCounterStore(IConnectionMultiplexer connection, RedisCounterStoreOptions? options = null, ILogger<RedisCounterStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new RedisCounterStoreOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.KeyPrefix, nameof(options));
        if (options.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException($"The key prefix '{options.KeyPrefix}' must not contain '{{' or '}}': the store puts each counter's hash tag after it.", nameof(options));
        }

        if (!Enum.IsDefined(options.Clock))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Clock, "Unknown clock.");
        }

        if (!Enum.IsDefined(options.ConfigurationCheck))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ConfigurationCheck, "Unknown configuration check.");
        }

        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        if (options.Timeout <= TimeSpan.Zero && options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Timeout, "The time-out must be positive or infinite.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.ExpirySlack, TimeSpan.Zero, nameof(options));

        _connection = connection;
        _database = options.Database;
        _prefix = options.KeyPrefix;
        _serverClock = options.Clock == RedisClock.Server;
        _timeProvider = options.TimeProvider;
        _timeout = options.Timeout;
        _slackMilliseconds = (long)Math.Ceiling(options.ExpirySlack.TotalMilliseconds);
        _check = options.ConfigurationCheck;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        if (_check != RedisConfigurationCheck.Off)
        {
            // At start-up, so that the warning comes before the first call rather than with it.
            _ = CheckConfigurationAsync();
        }
    }

    /// <inheritdoc />
    public override async ValueTask<CounterReservationResult> TryReserveAsync(
        ReadOnlyMemory<CounterRequest> requests,
        Memory<CounterBudget> budgets,
        CancellationToken cancellationToken = default)
    {
        CheckLengths(requests.Length, budgets.Length);
        if (requests.IsEmpty)
        {
            return CounterReservationResult.Acquired;
        }

        await EnsureSafeConfigurationAsync().ConfigureAwait(false);
        var keys = Keys(requests.Span);
        var groups = Group(keys, out var groupCount);
        if (groups is null)
        {
            var result = await EvaluateAsync(keys, CheckArgs(RedisCounterScript.Reserve, requests.Span, null, 0), cancellationToken).ConfigureAwait(false);
            return Fill(Answer.Of(result, requests.Length), requests.Span, budgets.Span);
        }

        return await ReserveAcrossSlotsAsync(requests, budgets, keys, groups, groupCount, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask GetBudgetsAsync(
        ReadOnlyMemory<CounterRequest> requests,
        Memory<CounterBudget> budgets,
        CancellationToken cancellationToken = default)
    {
        CheckLengths(requests.Length, budgets.Length);
        if (requests.IsEmpty)
        {
            return;
        }

        await EnsureSafeConfigurationAsync().ConfigureAwait(false);
        var keys = Keys(requests.Span);
        var groups = Group(keys, out var groupCount);
        var answer = new Answer(requests.Length);
        var tasks = new Task<RedisResult>[groupCount];
        for (var g = 0; g < groupCount; g++)
        {
            tasks[g] = EvaluateAsync(Subset(keys, groups, g), CheckArgs(RedisCounterScript.Budgets, requests.Span, groups, g), cancellationToken);
        }

        for (var g = 0; g < groupCount; g++)
        {
            Answer.Of(await tasks[g].ConfigureAwait(false), Count(groups, g, requests.Length)).CopyInto(answer, groups, g);
        }

        Fill(answer, requests.Span, budgets.Span, readOnly: true);
    }

    /// <inheritdoc />
    public override async ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default)
    {
        var span = reserved.Span;
        var held = new List<CounterBudget>(span.Length);
        foreach (ref readonly var budget in span)
        {
            if (budget.Reserved > 0)
            {
                ArgumentNullException.ThrowIfNull(budget.Counter, nameof(reserved));
                held.Add(budget);
            }
        }

        if (held.Count == 0)
        {
            return;
        }

        var keys = new RedisKey[held.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = RedisCounterKeys.CounterKey(_prefix, held[i].Counter, held[i].ScopeKey);
        }

        await ReleaseAsync(keys, held, cancellationToken).ConfigureAwait(false);
    }

    private static void CheckLengths(int requests, int budgets)
    {
        if (budgets < requests)
        {
            throw new ArgumentException($"The budgets ({budgets}) must have room for one budget per request ({requests}).", nameof(budgets));
        }
    }

    private RedisKey[] Keys(ReadOnlySpan<CounterRequest> requests)
    {
        var keys = new RedisKey[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            var request = requests[i];
            ArgumentNullException.ThrowIfNull(request.Counter, nameof(requests));
            keys[i] = RedisCounterKeys.CounterKey(_prefix, request.Counter, request.ScopeKey);
            for (var j = 0; j < i; j++)
            {
                if (keys[j] == keys[i])
                {
                    throw new ArgumentException($"The counter '{request.Counter.Name}' for one scope key appears twice in one request.", nameof(requests));
                }
            }
        }

        return keys;
    }

    /// <summary>The group (one per hash slot) of each key, or <see langword="null"/> when one script can take them all.</summary>
    private int[]? Group(RedisKey[] keys, out int count)
    {
        count = 1;
        if (keys.Length == 1 || !IsCluster())
        {
            return null;
        }

        var slots = new int[keys.Length];
        var groups = new int[keys.Length];
        count = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            slots[i] = _connection.HashSlot(keys[i]);
            groups[i] = -1;
            for (var j = 0; j < i; j++)
            {
                if (slots[j] == slots[i])
                {
                    groups[i] = groups[j];
                    break;
                }
            }

            if (groups[i] < 0)
            {
                groups[i] = count++;
            }
        }

        if (count == 1)
        {
            return null;
        }

        return groups;
    }

    // One Redis server takes keys of any slot in one script; a cluster (or a topology not yet known) needs one per slot.
    private bool IsCluster()
    {
        var topology = Volatile.Read(ref _topology);
        if (topology == TopologyUnknown)
        {
            foreach (var server in _connection.GetServers())
            {
                if (server.IsConnected)
                {
                    topology = server.ServerType == ServerType.Cluster ? TopologyCluster : TopologyStandalone;
                    Volatile.Write(ref _topology, topology);
                    break;
                }
            }
        }

        return topology != TopologyStandalone;
    }

    private static int Count(int[]? groups, int group, int length)
    {
        if (groups is null)
        {
            return length;
        }

        var count = 0;
        foreach (var g in groups)
        {
            count += g == group ? 1 : 0;
        }

        return count;
    }

    private static RedisKey[] Subset(RedisKey[] keys, int[]? groups, int group)
    {
        if (groups is null)
        {
            return keys;
        }

        var subset = new RedisKey[Count(groups, group, keys.Length)];
        var n = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            if (groups[i] == group)
            {
                subset[n++] = keys[i];
            }
        }

        return subset;
    }

    private RedisValue[] CheckArgs(RedisValue operation, ReadOnlySpan<CounterRequest> requests, int[]? groups, int group)
    {
        var count = Count(groups, group, requests.Length);
        var args = new RedisValue[3 + (4 * count)];
        args[0] = operation;
        args[1] = _serverClock ? RedisValue.EmptyString : (RedisValue)UnixMicroseconds(_timeProvider.GetUtcNow());
        args[2] = _slackMilliseconds;
        var n = 0;
        for (var i = 0; i < requests.Length; i++)
        {
            if (groups is not null && groups[i] != group)
            {
                continue;
            }

            var request = requests[i];
            args[3 + (4 * n)] = request.Counter.Max;
            args[4 + (4 * n)] = request.Counter.Window.Ticks / TimeSpan.TicksPerMicrosecond;
            args[5 + (4 * n)] = RedisCounterScript.Quantum(request.Counter);
            args[6 + (4 * n)] = request.Amount;
            n++;
        }

        return args;
    }

    private async ValueTask<CounterReservationResult> ReserveAcrossSlotsAsync(
        ReadOnlyMemory<CounterRequest> requests,
        Memory<CounterBudget> budgets,
        RedisKey[] keys,
        int[] groups,
        int groupCount,
        CancellationToken cancellationToken)
    {
        // Every slot's script at once: one round trip of latency, each slot all-or-none by itself.
        var tasks = new Task<RedisResult>[groupCount];
        for (var g = 0; g < groupCount; g++)
        {
            tasks[g] = EvaluateAsync(Subset(keys, groups, g), CheckArgs(RedisCounterScript.Reserve, requests.Span, groups, g), cancellationToken);
        }

        var answer = new Answer(requests.Length);
        var acquired = new bool[groupCount];
        Exception? failure = null;
        var refused = false;
        for (var g = 0; g < groupCount; g++)
        {
            try
            {
                var part = Answer.Of(await tasks[g].ConfigureAwait(false), Count(groups, g, requests.Length));
                part.CopyInto(answer, groups, g);
                acquired[g] = part.Blocked < 0;
                refused |= part.Blocked >= 0;
            }
            catch (CounterStoreUnavailableException ex)
            {
                failure ??= ex;
            }
        }

        if (failure is null && !refused)
        {
            return Fill(answer, requests.Span, budgets.Span);
        }

        // Compensation: give back what the slots that said yes reserved, so that the call takes all or none.
        var held = new List<CounterBudget>();
        var heldKeys = new List<RedisKey>();
        for (var i = 0; i < requests.Length; i++)
        {
            var request = requests.Span[i];
            if (acquired[groups[i]] && request.Amount > 0)
            {
                held.Add(new CounterBudget(request.Counter, request.ScopeKey, request.Amount, 0, TimeSpan.Zero, answer.Ids[i]));
                heldKeys.Add(keys[i]);
                answer.Remaining[i] += request.Amount;
                answer.Ids[i] = 0;
            }
        }

        if (held.Count > 0)
        {
            try
            {
                await ReleaseAsync([.. heldKeys], held, CancellationToken.None).ConfigureAwait(false);
            }
            catch (CounterStoreUnavailableException ex)
            {
                // The units stay reserved until their window passes: an under-admission, never an over-admission.
                LogCompensationFailed(_logger, held.Count, ex.Message);
            }
        }

        if (failure is not null)
        {
            throw failure;
        }

        return Fill(answer, requests.Span, budgets.Span, readOnly: true);
    }

    private async Task ReleaseAsync(RedisKey[] keys, List<CounterBudget> held, CancellationToken cancellationToken)
    {
        var groups = Group(keys, out var groupCount);
        var tasks = new Task<RedisResult>[groupCount];
        for (var g = 0; g < groupCount; g++)
        {
            var count = Count(groups, g, keys.Length);
            var args = new RedisValue[3 + (2 * count)];
            args[0] = RedisCounterScript.Release;
            args[1] = RedisValue.EmptyString;
            args[2] = _slackMilliseconds;
            var n = 0;
            for (var i = 0; i < keys.Length; i++)
            {
                if (groups is null || groups[i] == g)
                {
                    args[3 + (2 * n)] = held[i].ReservationId;
                    args[4 + (2 * n)] = held[i].Reserved;
                    n++;
                }
            }

            tasks[g] = EvaluateAsync(Subset(keys, groups, g), args, cancellationToken);
        }

        CounterStoreUnavailableException? failure = null;
        foreach (var task in tasks)
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (CounterStoreUnavailableException ex)
            {
                failure ??= ex;
            }
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    private static long UnixMicroseconds(DateTimeOffset time) =>
        (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    private static CounterReservationResult Fill(Answer answer, ReadOnlySpan<CounterRequest> requests, Span<CounterBudget> budgets, bool readOnly = false)
    {
        // The counter that frees up last decides when the whole call fits; one that never fits wins outright.
        var blocked = -1;
        long longest = 0;
        for (var i = 0; i < requests.Length; i++)
        {
            var retry = answer.Retries[i];
            if (retry != 0 && (blocked < 0 || (longest != -1 && (retry == -1 || retry > longest))))
            {
                blocked = i;
                longest = retry;
            }
        }

        var acquired = !readOnly && blocked < 0;
        for (var i = 0; i < requests.Length; i++)
        {
            var request = requests[i];
            budgets[i] = new CounterBudget(
                request.Counter,
                request.ScopeKey,
                acquired ? request.Amount : 0,
                Math.Max(0, answer.Remaining[i]),
                ToRetryAfter(answer.Retries[i]),
                acquired ? answer.Ids[i] : 0);
        }

        return blocked < 0
            ? CounterReservationResult.Acquired
            : CounterReservationResult.Blocked(blocked, ToRetryAfter(longest));
    }

    // -1 from the script: the amount exceeds the counter's max and never fits.
    private static TimeSpan ToRetryAfter(long microseconds) =>
        microseconds < 0 ? TimeSpan.MaxValue : TimeSpan.FromTicks(microseconds * TimeSpan.TicksPerMicrosecond);

    private async Task<RedisResult> EvaluateAsync(RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
    {
        try
        {
            return await EvaluateOnceAsync(keys, args).WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new CounterStoreUnavailableException($"Redis did not answer within {_timeout.TotalMilliseconds:0} ms.", ex);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            throw new CounterStoreUnavailableException("Redis is unavailable: " + ex.Message, ex);
        }
    }

    private async Task<RedisResult> EvaluateOnceAsync(RedisKey[] keys, RedisValue[] args)
    {
        var database = _connection.GetDatabase(_database);
        try
        {
            return await database.ScriptEvaluateAsync(RedisCounterScript.Sha1, keys, args).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // The server lost its script cache (a restart, SCRIPT FLUSH, a fail-over): EVAL sends the text and caches it again.
            return await database.ScriptEvaluateAsync(RedisCounterScript.Text, keys, args).ConfigureAwait(false);
        }
    }

    private Task<string?> CheckConfigurationAsync()
    {
        lock (_checkLock)
        {
            // A check that could not reach any server is tried again by the next operation.
            if (_checkTask is null || (_checkTask.IsCompleted && _checkTask.Result == Unreachable))
            {
                _checkTask = RunCheckAsync();
            }

            return _checkTask;
        }
    }

    private const string Unreachable = "Redis could not be reached to read its settings.";

    /// <summary>Reads the servers' settings, logs each risk, and returns why counting is refused in strict mode (else null).</summary>
    private async Task<string?> RunCheckAsync()
    {
        List<RedisServerSettings.Risk> risks;
        try
        {
            risks = await RedisServerSettings.FindRisksAsync(_connection).WaitAsync(_timeout == System.Threading.Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(30) : _timeout * 5).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            return Unreachable;
        }

        string? refusal = null;
        foreach (var risk in risks)
        {
            LogRisk(_logger, risk.Server, risk.Message);
            if (risk.Severe && _check == RedisConfigurationCheck.Strict)
            {
                refusal ??= $"Redis at {risk.Server} may lose counts and the store is strict: {risk.Message}";
            }
        }

        return refusal;
    }

    private ValueTask EnsureSafeConfigurationAsync()
    {
        if (_check != RedisConfigurationCheck.Strict)
        {
            if (_check == RedisConfigurationCheck.Warn && Volatile.Read(ref _checkTask) is { IsCompleted: true, Result: Unreachable })
            {
                _ = CheckConfigurationAsync();
            }

            return ValueTask.CompletedTask;
        }

        var task = CheckConfigurationAsync();
        return task.IsCompletedSuccessfully && task.Result is null ? ValueTask.CompletedTask : AwaitCheckAsync(task);

        static async ValueTask AwaitCheckAsync(Task<string?> task)
        {
            var refusal = await task.ConfigureAwait(false);
            if (refusal is not null)
            {
                throw new CounterStoreUnavailableException(refusal);
            }
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Redis at {Server}: {Risk}")]
    private static partial void LogRisk(ILogger logger, string server, string risk);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "A call refused across hash slots could not give back {Count} reserved counters ({Reason}); their units count until their windows pass.")]
    private static partial void LogCompensationFailed(ILogger logger, int count, string reason);

    /// <summary>The per-counter answers of one or more script calls, in request order.</summary>
    private sealed class Answer(int length)
    {
        public long[] Remaining { get; } = new long[length];

        public long[] Retries { get; } = new long[length];

        public long[] Ids { get; } = new long[length];

        public int Blocked { get; private set; } = -1;

        public int Length => Remaining.Length;

        public static Answer Of(RedisResult result, int length)
        {
            var values = (RedisResult[])result!;
            if (values.Length != 1 + (3 * length))
            {
                throw new CounterStoreUnavailableException($"The counter script answered {values.Length} values for {length} counters.");
            }

            var answer = new Answer(length) { Blocked = (int)(long)values[0] };
            for (var i = 0; i < length; i++)
            {
                answer.Remaining[i] = (long)values[1 + (3 * i)];
                answer.Retries[i] = (long)values[2 + (3 * i)];
                answer.Ids[i] = (long)values[3 + (3 * i)];
            }

            return answer;
        }

        /// <summary>Copies these answers, of group <paramref name="group"/>, to their places in <paramref name="target"/>.</summary>
        public void CopyInto(Answer target, int[]? groups, int group)
        {
            var n = 0;
            for (var i = 0; i < target.Length; i++)
            {
                if (groups is null || groups[i] == group)
                {
                    target.Remaining[i] = Remaining[n];
                    target.Retries[i] = Retries[n];
                    target.Ids[i] = Ids[n];
                    n++;
                }
            }
        }
    }
}
