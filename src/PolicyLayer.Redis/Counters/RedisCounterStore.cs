using System.Globalization;
using StackExchange.Redis;

namespace PolicyLayer;

/// <summary>
/// Counters in Redis, shared by every instance of a server: exact sliding windows, all-or-none reservations across
/// counters, give-back, and keys that expire when their scope goes quiet. Each operation is one script call (EVALSHA),
/// whatever the number of counters.
/// </summary>
/// <remarks>
/// Each counter and scope is a sorted set of reservations (score: the time, member: the reservation id and its amount)
/// and a running total. With <see cref="RedisClock.Server"/> the Redis server's clock decides, so instances with skewed
/// clocks agree. When Redis is down or slower than <see cref="RedisCounterStoreOptions.Timeout"/>, every operation
/// throws <see cref="CounterStoreUnavailableException"/>; the store recovers by itself when Redis is back.
/// </remarks>
public sealed class RedisCounterStore : CounterStore
{
    private readonly IConnectionMultiplexer _connection;
    private readonly int _database;
    private readonly string _prefix;
    private readonly RedisKey _stateKey;
    private readonly bool _serverClock;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _timeout;
    private readonly RedisValue _slackMilliseconds;

    /// <summary>Creates a store on an existing connection, which the store uses but does not own or dispose.</summary>
    /// <param name="connection">The connection to Redis; one for the whole process, as StackExchange.Redis intends.</param>
    /// <param name="options">The store's options; defaults when <see langword="null"/>.</param>
    public RedisCounterStore(IConnectionMultiplexer connection, RedisCounterStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new RedisCounterStoreOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.KeyPrefix, nameof(options));
        if (options.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException($"The key prefix '{options.KeyPrefix}' must not contain '{{' or '}}': the store puts it in a hash tag itself.", nameof(options));
        }

        if (!Enum.IsDefined(options.Clock))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Clock, "Unknown clock.");
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
        _stateKey = RedisCounterScript.StateKey(_prefix);
        _serverClock = options.Clock == RedisClock.Server;
        _timeProvider = options.TimeProvider;
        _timeout = options.Timeout;
        _slackMilliseconds = (long)Math.Ceiling(options.ExpirySlack.TotalMilliseconds);
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

        var (keys, args) = BuildCheck(RedisCounterScript.Reserve, requests.Span);
        var result = await EvaluateAsync(keys, args, cancellationToken).ConfigureAwait(false);
        return Fill(result, requests.Span, budgets.Span, reserve: true);
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

        var (keys, args) = BuildCheck(RedisCounterScript.Budgets, requests.Span);
        var result = await EvaluateAsync(keys, args, cancellationToken).ConfigureAwait(false);
        Fill(result, requests.Span, budgets.Span, reserve: false);
    }

    /// <inheritdoc />
    public override async ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default)
    {
        var span = reserved.Span;
        var count = 0;
        foreach (ref readonly var budget in span)
        {
            if (budget.Reserved > 0)
            {
                count++;
            }
        }

        if (count == 0)
        {
            return;
        }

        var keys = new RedisKey[1 + (2 * count)];
        var args = new RedisValue[3 + count];
        keys[0] = _stateKey;
        args[0] = RedisCounterScript.Release;
        args[1] = RedisValue.EmptyString;
        args[2] = _slackMilliseconds;
        var i = 0;
        foreach (ref readonly var budget in span)
        {
            if (budget.Reserved <= 0)
            {
                continue;
            }

            ArgumentNullException.ThrowIfNull(budget.Counter, nameof(reserved));
            keys[1 + (2 * i)] = RedisCounterScript.CounterKey(_prefix, 'z', budget.Counter, budget.ScopeKey);
            keys[2 + (2 * i)] = RedisCounterScript.CounterKey(_prefix, 'n', budget.Counter, budget.ScopeKey);
            args[3 + i] = string.Create(CultureInfo.InvariantCulture, $"{budget.ReservationId}:{budget.Reserved}");
            i++;
        }

        await EvaluateAsync(keys, args, cancellationToken).ConfigureAwait(false);
    }

    private static void CheckLengths(int requests, int budgets)
    {
        if (budgets < requests)
        {
            throw new ArgumentException($"The budgets ({budgets}) must have room for one budget per request ({requests}).", nameof(budgets));
        }
    }

    private (RedisKey[] Keys, RedisValue[] Args) BuildCheck(RedisValue operation, ReadOnlySpan<CounterRequest> requests)
    {
        var keys = new RedisKey[1 + (2 * requests.Length)];
        var args = new RedisValue[3 + (3 * requests.Length)];
        keys[0] = _stateKey;
        args[0] = operation;
        args[1] = _serverClock ? RedisValue.EmptyString : (RedisValue)UnixMicroseconds(_timeProvider.GetUtcNow());
        args[2] = _slackMilliseconds;
        for (var i = 0; i < requests.Length; i++)
        {
            var request = requests[i];
            ArgumentNullException.ThrowIfNull(request.Counter, nameof(requests));
            var entries = RedisCounterScript.CounterKey(_prefix, 'z', request.Counter, request.ScopeKey);
            for (var j = 0; j < i; j++)
            {
                if (keys[1 + (2 * j)] == entries)
                {
                    throw new ArgumentException($"The counter '{request.Counter.Name}' for scope key '{request.ScopeKey}' appears twice in one request.", nameof(requests));
                }
            }

            keys[1 + (2 * i)] = entries;
            keys[2 + (2 * i)] = RedisCounterScript.CounterKey(_prefix, 'n', request.Counter, request.ScopeKey);
            args[3 + (3 * i)] = request.Counter.Max;
            args[4 + (3 * i)] = request.Counter.Window.Ticks / TimeSpan.TicksPerMicrosecond;
            args[5 + (3 * i)] = request.Amount;
        }

        return (keys, args);
    }

    private static long UnixMicroseconds(DateTimeOffset time) =>
        (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    private static CounterReservationResult Fill(RedisResult result, ReadOnlySpan<CounterRequest> requests, Span<CounterBudget> budgets, bool reserve)
    {
        var values = (RedisResult[])result!;
        if (values.Length != 2 + (2 * requests.Length))
        {
            throw new CounterStoreUnavailableException($"The counter script answered {values.Length} values for {requests.Length} counters.");
        }

        var blocked = (int)(long)values[0];
        var reservationId = (long)values[1];
        var acquired = reserve && blocked < 0;
        for (var i = 0; i < requests.Length; i++)
        {
            var request = requests[i];
            var remaining = Math.Max(0, (long)values[2 + (2 * i)]);
            var retryAfter = ToRetryAfter((long)values[3 + (2 * i)]);
            budgets[i] = new CounterBudget(
                request.Counter,
                request.ScopeKey,
                acquired ? request.Amount : 0,
                remaining,
                retryAfter,
                acquired ? reservationId : 0);
        }

        return blocked < 0
            ? CounterReservationResult.Acquired
            : CounterReservationResult.Blocked(blocked, ToRetryAfter((long)values[3 + (2 * blocked)]));
    }

    // -1 from the script: the amount exceeds the counter's max and never fits.
    private static TimeSpan ToRetryAfter(long microseconds) =>
        microseconds < 0 ? TimeSpan.MaxValue : TimeSpan.FromTicks(microseconds * TimeSpan.TicksPerMicrosecond);

    private async ValueTask<RedisResult> EvaluateAsync(RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
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
}
