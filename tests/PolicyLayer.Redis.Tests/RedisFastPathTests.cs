using System.Globalization;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>
/// The script's fast path (one unit on one counter of at most 1,024) against its general code and against the script
/// of the previous release: same answers, same bytes in Redis, one budget shared on one key.
/// </summary>
public sealed class RedisFastPathTests
{
    private const long Slack = 1000;
    private const long Start = 1_767_268_800_000_000; // 2026-01-01T12:00:00Z in microseconds

    private static readonly CounterDefinition PerSecond = new("burst", 2, TimeSpan.FromSeconds(1), CounterScope.Session);

    /// <summary>The script without its fast path: what an instance that has only the general code runs.</summary>
    private static readonly string GeneralText = WithoutFastPath(RedisCounterScript.Text);

    /// <summary>The script of commit 382ad81, the last release before the fast path.</summary>
    private static readonly string PreviousText = ReadResource("PolicyLayer.Redis.Tests.counters-382ad81.lua");

    [Test]
    public void GeneralText_HasNoFastPath_AndTheScriptHasOne()
    {
        RedisCounterScript.Text.Should().Contain("-- fast path: begin");
        GeneralText.Should().NotContain("-- fast path: begin").And.Contain("local function prune");
        GeneralText.Length.Should().BeLessThan(RedisCounterScript.Text.Length - 1000);
    }

    // Exact counters of 5 a second (1 us quantum): 600 steps of up to 0.4 s keep the log busy past 2^24 us, so that
    // the fast path also meets logs that need rebasing (and leaves them to the general code). With amounts, the log
    // turns into one of amounts, and give-backs leave tombstones. Grid counters above 1,024 (4 ms quantum): one of
    // units in steps of up to 2 ms (many share an entry), one of large amounts that fills up. Calls of two counters
    // in one slot (the second over 3 s), where either or both may refuse, each with its own retry.
    [TestCase(1, 5, 1, 400_000, true, true, 0)]
    [TestCase(2, 5, 1, 400_000, true, true, 0)]
    [TestCase(3, 5, 2, 400_000, true, true, 0)]
    [TestCase(4, 1025, 1, 2_000, false, false, 0)]
    [TestCase(5, 2000, 700, 40_000, false, true, 0)]
    [TestCase(6, 5, 1, 400_000, true, true, 12)]
    [TestCase(7, 2000, 700, 40_000, false, true, 30)]
    [TestCase(8, 5, 2, 150_000, false, true, 2000)]
    public async Task FastPath_AnswersAndStoresExactlyAsTheGeneralCode_AndThePreviousRelease(
        int seed, long max, int largestAmount, int longestStep, bool rebasing, bool refusing, long secondMax)
    {
        var counter = new CounterDefinition("calls", max, TimeSpan.FromSeconds(1), CounterScope.Session);
        var quantum = RedisCounterScript.Quantum(counter);
        var second = secondMax == 0 ? null : new CounterDefinition("all", secondMax, TimeSpan.FromSeconds(3), CounterScope.Global);
        var database = RedisTestServer.Connection.GetDatabase();
        var prefix = RedisTestServer.UniquePrefix();
        var scripts = new[] { RedisCounterScript.Text, GeneralText, PreviousText };
        var keys = scripts.Select((_, i) => second is null
            ? new RedisKey[] { prefix + ":{" + i + "}" }
            : new RedisKey[] { prefix + ":{" + i + "}", prefix + ":{" + i + "}.2" }).ToArray();
        var random = new Random(seed);
        var now = Start;
        var ids = new List<RedisValue[]>();
        var acquired = 0;
        var refused = 0;
        var rebases = 0;
        var releases = 0;
        double? lastBase = null;
        for (var step = 0; step < 600; step++)
        {
            var roll = random.Next(100);
            RedisValue[] args;
            if (roll < 10 && ids.Count > 0)
            {
                // A give-back, sometimes of an id given back already or gone out of the window.
                args = ["x", "", Slack, .. ids[random.Next(ids.Count)]];
                releases++;
            }
            else
            {
                // Time mostly moves on; one step in seven it steps back (another instance's lagging clock).
                now += roll < 15 ? -random.Next(0, longestStep / 2) : random.Next(0, longestStep);
                var amount = largestAmount == 1 || roll < 80 ? 1 : random.Next(2, largestAmount + 1);
                args = second is null
                    ? ["r", now, Slack, counter.Max, 1_000_000, quantum, amount]
                    : ["r", now, Slack, counter.Max, 1_000_000, quantum, amount,
                        second.Max, 3_000_000, RedisCounterScript.Quantum(second), Math.Min(amount, second.Max)];
            }

            var answers = new string[scripts.Length];
            var blobs = new byte[]?[scripts.Length][];
            for (var i = 0; i < scripts.Length; i++)
            {
                answers[i] = Describe(await database.ScriptEvaluateAsync(scripts[i], keys[i], args));
                blobs[i] = new byte[]?[keys[i].Length];
                for (var k = 0; k < keys[i].Length; k++)
                {
                    blobs[i][k] = (byte[]?)await database.StringGetAsync(keys[i][k]);
                }
            }

            var what = $"step {step} ({string.Join(' ', args)})";
            answers[0].Should().Be(answers[1], $"{what}: the general code answers alike");
            answers[0].Should().Be(answers[2], $"{what}: the previous release answers alike");
            for (var k = 0; k < keys[0].Length; k++)
            {
                blobs[0][k].Should().Equal(blobs[1][k], $"{what}: the general code leaves the same log {k}");
                blobs[0][k].Should().Equal(blobs[2][k], $"{what}: the previous release leaves the same log {k}");
            }

            if (args[0] == "r")
            {
                var parts = answers[0].Split(',');
                if (parts[0] == "-1")
                {
                    acquired++;
                    ids.Add(second is null
                        ? [long.Parse(parts[3], CultureInfo.InvariantCulture), args[6]]
                        : [long.Parse(parts[3], CultureInfo.InvariantCulture), args[6], long.Parse(parts[6], CultureInfo.InvariantCulture), args[10]]);
                }
                else
                {
                    refused++;
                }
            }

            if (blobs[0][0] is { } blob)
            {
                var log = RedisCounterLog.Parse(blob, quantum);
                var @base = BitConverter.ToDouble(blob, 0);
                if (lastBase is not null && @base != lastBase && log.Entries.Count >= 2)
                {
                    rebases++; // the base moved while entries stayed live: only a rebase does that
                }

                lastBase = @base;
            }
        }

        acquired.Should().BeGreaterThan(30);
        releases.Should().BeGreaterThan(20);
        if (refusing)
        {
            refused.Should().BeGreaterThan(20);
        }

        if (rebasing)
        {
            rebases.Should().BeGreaterThan(0, "the run must reach a log the fast path leaves to the general code");
        }
    }

    [Test]
    public async Task Reserve_OneUnitAtTheWindowsEdge_IsRefusedOneMicrosecondBefore_AndAcquiredAtIt()
    {
        var (time, _, store) = NewStore();
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(PerSecond, "s", 1))).Result.IsAcquired.Should().BeTrue();
        time.Advance(TimeSpan.FromMilliseconds(500));
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(PerSecond, "s", 1))).Result.IsAcquired.Should().BeTrue();
        time.Advance(TimeSpan.FromMilliseconds(500) - TimeSpan.FromMicroseconds(1));

        var (early, earlyBudgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(PerSecond, "s", 1));
        early.IsAcquired.Should().BeFalse();
        early.RetryAfter.Should().Be(TimeSpan.FromMicroseconds(1));
        earlyBudgets[0].Remaining.Should().Be(0);

        time.Advance(TimeSpan.FromMicroseconds(1));
        var (onTime, onTimeBudgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(PerSecond, "s", 1));
        onTime.IsAcquired.Should().BeTrue();
        onTimeBudgets[0].Remaining.Should().Be(0);

        var (next, _) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(PerSecond, "s", 1));
        next.IsAcquired.Should().BeFalse();
        next.RetryAfter.Should().Be(TimeSpan.FromMilliseconds(500), "the second unit, taken 0.5 s after the first, leaves 0.5 s later");
    }

    [Test]
    public async Task Reserve_AtMax_IsRefused_AndLeavesTheLogAsItWas()
    {
        var (time, prefix, store) = NewStore();
        var key = RedisCounterKeys.CounterKey(prefix, PerSecond, "s");
        var database = RedisTestServer.Connection.GetDatabase();
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(PerSecond, "s", 1));
        time.Advance(TimeSpan.FromMilliseconds(100));
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(PerSecond, "s", 1));
        var before = (byte[]?)await database.StringGetAsync(key);
        time.Advance(TimeSpan.FromMilliseconds(300));

        var (refused, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(PerSecond, "s", 1));

        refused.IsAcquired.Should().BeFalse();
        refused.BlockedIndex.Should().Be(0);
        refused.RetryAfter.Should().Be(TimeSpan.FromMilliseconds(600));
        budgets[0].Reserved.Should().Be(0);
        budgets[0].ReservationId.Should().Be(0);
        ((byte[]?)await database.StringGetAsync(key)).Should().Equal(before);
        var log = RedisCounterLog.Parse(before, RedisCounterScript.Quantum(PerSecond));
        log.Format.Should().Be(1);
        log.Used.Should().Be(2);
    }

    [Test]
    public async Task Release_AfterTheFastPath_GivesTheUnitBackOnce()
    {
        var counter = new CounterDefinition("calls", 3, TimeSpan.FromMinutes(1), CounterScope.Session);
        var (time, prefix, store) = NewStore();
        var taken = new List<CounterBudget[]>();
        for (var i = 0; i < 3; i++)
        {
            var (result, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1));
            result.IsAcquired.Should().BeTrue();
            taken.Add(budgets);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1))).Result.IsAcquired.Should().BeFalse();

        await store.ReleaseAsync(taken[1]);
        await store.ReleaseAsync(taken[1]);

        var log = await RedisCounterLog.ReadAsync(RedisTestServer.Connection.GetDatabase(), prefix, counter, "s");
        log!.Entries.Select(e => e.Id).Should().Equal(taken[0][0].ReservationId, taken[2][0].ReservationId);
        var (again, againBudgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1));
        again.IsAcquired.Should().BeTrue();
        againBudgets[0].ReservationId.Should().BeGreaterThan(taken[2][0].ReservationId, "an id given back is never issued again");
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1))).Result.IsAcquired.Should().BeFalse(
            "the second give-back of one id frees nothing");
    }

    [Test]
    public async Task Reserve_OneUnitAfterAnAmountOfTwo_OnTheLogOfAmounts_StaysExact()
    {
        var counter = new CounterDefinition("calls", 4, TimeSpan.FromMinutes(1), CounterScope.Session);
        var (time, prefix, store) = NewStore();
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1))).Result.IsAcquired.Should().BeTrue();
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 2))).Result.IsAcquired.Should().BeTrue();
        var log = await RedisCounterLog.ReadAsync(RedisTestServer.Connection.GetDatabase(), prefix, counter, "s");
        log!.Format.Should().Be(2, "an amount other than 1 turns the log into one of amounts (the general code converts it)");

        var (last, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1));
        last.IsAcquired.Should().BeTrue();
        budgets[0].Remaining.Should().Be(0);
        var (over, _) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1));
        over.IsAcquired.Should().BeFalse();
        over.RetryAfter.Should().Be(TimeSpan.FromMinutes(1));
    }

    [Test]
    public async Task Reserve_ThisScriptAndThePreviousReleaseInterleavedOnOneKey_AdmitExactlyMax()
    {
        // A rolling upgrade: instances with the fast path and instances of the previous release share one key.
        var counter = new CounterDefinition("calls", 50, TimeSpan.FromMinutes(1), CounterScope.Session);
        var (time, prefix, store) = NewStore();
        var key = RedisCounterKeys.CounterKey(prefix, counter, "s");
        var database = RedisTestServer.Connection.GetDatabase();
        var admittedNew = new List<long>();
        var admittedPrevious = new List<long>();
        for (var i = 0; i < 120; i++)
        {
            if (i % 2 == 0)
            {
                var (result, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1));
                if (result.IsAcquired)
                {
                    admittedNew.Add(budgets[0].ReservationId);
                }
            }
            else
            {
                var answer = (long[])(await database.ScriptEvaluateAsync(PreviousText, [key], ReserveArgs(counter, time, 1)))!;
                if (answer[0] < 0)
                {
                    admittedPrevious.Add(answer[3]);
                }
            }

            time.Advance(TimeSpan.FromMilliseconds(100));
        }

        (admittedNew.Count + admittedPrevious.Count).Should().Be(50);
        admittedNew.Should().HaveCount(25);
        admittedNew.Concat(admittedPrevious).Should().OnlyHaveUniqueItems();

        // The previous release gives back a unit the fast path reserved, and the fast path sees it free, once.
        (await database.ScriptEvaluateAsync(PreviousText, [key], ["x", "", Slack, admittedNew[3], 1])).ToString().Should().Be("1");
        (await database.ScriptEvaluateAsync(PreviousText, [key], ["x", "", Slack, admittedNew[3], 1])).ToString().Should().Be("0");
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1))).Result.IsAcquired.Should().BeTrue();
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1))).Result.IsAcquired.Should().BeFalse();
        var previousAnswer = (long[])(await database.ScriptEvaluateAsync(PreviousText, [key], ReserveArgs(counter, time, 1)))!;
        previousAnswer[0].Should().Be(0, "the previous release reads the fast path's entries as full");
        previousAnswer[1].Should().Be(0);

        // The first unit leaves the window 60 s after it was taken: both versions then admit exactly one more.
        time.Advance(TimeSpan.FromMinutes(1) - TimeSpan.FromMilliseconds(12_000));
        var (fromNew, _) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1));
        fromNew.IsAcquired.Should().BeTrue();
        var fromPrevious = (long[])(await database.ScriptEvaluateAsync(PreviousText, [key], ReserveArgs(counter, time, 1)))!;
        fromPrevious[0].Should().Be(0, "the second unit leaves 0.1 s after the first");
    }

    [Test]
    public async Task Reserve_ThisScriptAndThePreviousReleaseConcurrently_OnTheServerClock_AdmitExactlyMax()
    {
        var counter = new CounterDefinition("calls", 100, TimeSpan.FromMinutes(5), CounterScope.Session);
        var prefix = RedisTestServer.UniquePrefix();
        var store = new RedisCounterStore(RedisTestServer.Connection, new RedisCounterStoreOptions { KeyPrefix = prefix });
        var key = RedisCounterKeys.CounterKey(prefix, counter, "s");
        var database = RedisTestServer.Connection.GetDatabase();
        RedisValue[] previousArgs = ["r", "", Slack, counter.Max, 300_000_000, RedisCounterScript.Quantum(counter), 1];
        var admitted = new int[2];

        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                bool acquired;
                if (worker % 2 == 0)
                {
                    acquired = (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "s", 1))).Result.IsAcquired;
                }
                else
                {
                    acquired = ((long[])(await database.ScriptEvaluateAsync(PreviousText, [key], previousArgs))!)[0] < 0;
                }

                if (acquired)
                {
                    Interlocked.Increment(ref admitted[worker % 2]);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        // 320 attempts, 160 of each version, against a max of 100.
        (admitted[0] + admitted[1]).Should().Be(100);
        admitted.Should().OnlyContain(n => n > 0);
    }

    private static (FakeTimeProvider Time, string Prefix, RedisCounterStore Store) NewStore()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        var prefix = RedisTestServer.UniquePrefix();
        return (time, prefix, RedisCounterStoreTests.CreateStore(time, prefix));
    }

    private static RedisValue[] ReserveArgs(CounterDefinition counter, TimeProvider time, long amount) =>
    [
        "r",
        (time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond,
        Slack,
        counter.Max,
        counter.Window.Ticks / TimeSpan.TicksPerMicrosecond,
        RedisCounterScript.Quantum(counter),
        amount,
    ];

    private static string Describe(RedisResult result) =>
        result.Resp2Type == ResultType.Array
            ? string.Join(",", ((RedisResult[])result!).Select(r => r.ToString()))
            : result.ToString();

    private static string WithoutFastPath(string text)
    {
        var begin = text.IndexOf("-- fast path: begin", StringComparison.Ordinal);
        var end = text.IndexOf("-- fast path: end", StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            throw new InvalidOperationException("counters.lua has no fast path between its markers.");
        }

        return text[..begin] + text[end..];
    }

    private static string ReadResource(string name)
    {
        using var stream = typeof(RedisFastPathTests).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded resource {name} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
    }
}
