using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Operations;

public sealed class PolicyFileWatcherTests
{
    private const string OnlyX = """{ "version": "1", "default": "deny", "tools": { "x": {} } }""";
    private const string OnlyY = """{ "version": "1", "default": "deny", "tools": { "y": {} } }""";

    // Were either of these put in force, x, y and z would all be allowed: a mix neither A nor B allows.
    private const string InvalidAllowsAll = """
        { "version": "1", "default": "deny",
          "tools": { "x": {}, "y": {}, "z": {} },
          "limits": 3 }
        """;

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private FakeTimeProvider _time = null!;
    private FakeLogger _log = null!;
    private string _dir = null!;
    private string _path = null!;
    private int _writes;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        _log = new FakeLogger();
        _dir = Directory.CreateTempSubdirectory("policylayer-reload-").FullName;
        _path = Path.Combine(_dir, "policy.json");
        _writes = 0;
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task ValidNewVersion_IsInForceOnceTheFileHeldStillForOneInterval()
    {
        Write(OnlyX);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;

        Write(OnlyY);
        _time.Advance(Interval);
        (await Allowed(evaluator, "y")).Should().BeFalse("a change is read only after it held still for one interval");

        _time.Advance(Interval);
        (await Allowed(evaluator, "y")).Should().BeTrue();
        (await Allowed(evaluator, "x")).Should().BeFalse();
        _log.LatestRecord.Id.Id.Should().Be(10);
        _log.LatestRecord.Level.Should().Be(LogLevel.Information);
    }

    [Test]
    public async Task InvalidVersion_IsRefused_ErrorsLoggedWithLineAndColumn_LastGoodStaysInForce()
    {
        Write(OnlyX);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;

        Write(InvalidAllowsAll);
        _time.Advance(Interval);
        _time.Advance(Interval);

        (await Allowed(evaluator, "x")).Should().BeTrue();
        (await Allowed(evaluator, "z")).Should().BeFalse();
        var record = _log.LatestRecord;
        record.Id.Should().Be(new EventId(11, "PolicyReloadRejected"));
        record.Level.Should().Be(LogLevel.Error);
        record.Message.Should().Contain(_path + ":3:3: $.limits:", "each error names the file, line and column");

        // Refused once: the same bad file is not re-read and re-logged at every poll.
        _time.Advance(Interval * 5);
        _log.Collector.GetSnapshot().Count(r => r.Id.Id == 11).Should().Be(1);

        Write(OnlyY);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await Allowed(evaluator, "y")).Should().BeTrue("a fixed file is put in force");
    }

    [Test]
    public async Task HalfWrittenFile_FinishedWithinTheDebounce_IsNeverReadOrRefused()
    {
        Write(OnlyX);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;

        Write(OnlyY[..20]);
        _time.Advance(Interval);
        Write(OnlyY);
        _time.Advance(Interval);
        (await Allowed(evaluator, "x")).Should().BeTrue("the finished file has not held still for an interval yet");
        _time.Advance(Interval);

        (await Allowed(evaluator, "y")).Should().BeTrue();
        _log.Collector.GetSnapshot().Should().NotContain(r => r.Id.Id == 11);
    }

    [Test]
    public async Task HalfWrittenFile_StalledForAnInterval_IsRefused_ThenLoadedOnceFinished()
    {
        Write(OnlyX);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;

        Write(OnlyY[..20]);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await Allowed(evaluator, "x")).Should().BeTrue("the half-written version is refused");
        _log.LatestRecord.Id.Id.Should().Be(11);

        Write(OnlyY);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await Allowed(evaluator, "y")).Should().BeTrue();
        (await Allowed(evaluator, "x")).Should().BeFalse();
    }

    [Test]
    public async Task DeletedFile_KeepsTheLastGoodVersion_UntilANewOneAppears()
    {
        Write(OnlyX);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;

        File.Delete(_path);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await Allowed(evaluator, "x")).Should().BeTrue();
        _log.LatestRecord.Id.Should().Be(new EventId(13, "PolicyFileMissing"));

        Write(OnlyY);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await Allowed(evaluator, "y")).Should().BeTrue();
    }

    [Test]
    public async Task TouchedButUnchangedFile_IsNotReloaded()
    {
        Write(OnlyX);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;
        var before = evaluator.Policy;

        Write(OnlyX);
        _time.Advance(Interval);
        _time.Advance(Interval);

        evaluator.Policy.Should().BeSameAs(before);
        _log.Collector.Count.Should().Be(0);
    }

    [Test]
    public async Task Counters_SurviveAReload_WhenTheirDefinitionDidNotChange_AndStartEmptyWhenItDid()
    {
        const string v1 = """{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 2, "scope": "grant" } ] } } }""";
        const string v2 = """{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 2, "scope": "grant" } ] }, "u": {} } }""";
        const string v3 = """{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 3, "scope": "grant" } ] } } }""";
        Write(v1);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;
        (await Allowed(evaluator, "t")).Should().BeTrue();

        Write(v2);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await Allowed(evaluator, "u")).Should().BeTrue("v2 is in force");
        (await Allowed(evaluator, "t")).Should().BeTrue();
        (await Allowed(evaluator, "t")).Should().BeFalse("counter c kept the unit counted under v1: 2 of 2 used");

        Write(v3);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await Allowed(evaluator, "t")).Should().BeTrue();
        (await Allowed(evaluator, "t")).Should().BeTrue();
        (await Allowed(evaluator, "t")).Should().BeTrue("a changed definition (max 3) is a new counter that starts empty");
        (await Allowed(evaluator, "t")).Should().BeFalse();
    }

    [Test]
    public async Task InvalidInitialFile_Throws_WithItsErrors()
    {
        Write(InvalidAllowsAll);

        var act = () => new PolicyFileWatcher(_path, Interval, _time, _log);

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().Contain(e => e.Line == 3 && e.Column == 3);
        await Task.CompletedTask;
    }

    [Test]
    public async Task ReloadsUnderConcurrentCalls_OnlyEverDecideAsTheOldOrTheNewPolicyWould()
    {
        Write(OnlyX);

        // The callers read their own clock: FakeTimeProvider runs due timers from whichever thread reads it, which
        // would move the watcher's polls onto the callers' threads, out of step with the writes made here.
        using var watcher = Watch(out var evaluator, evaluatorClock: new FakeTimeProvider());
        using var _ = evaluator;
        using var stop = new CancellationTokenSource();
        var violations = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var decided = new long[3];
        long xAllowed = 0, yAllowed = 0;

        async Task Caller(int index, string tool)
        {
            while (!stop.IsCancellationRequested)
            {
                var d = await evaluator.EvaluateAsync(new ToolCall(tool));
                var ok = (tool, d.Outcome, d.RuleId) switch
                {
                    ("x", PolicyOutcome.Allow, "/tools/x") => Interlocked.Increment(ref xAllowed) > 0,
                    ("y", PolicyOutcome.Allow, "/tools/y") => Interlocked.Increment(ref yAllowed) > 0,
                    (_, PolicyOutcome.Deny, "(default)") => true,
                    _ => false,
                };
                if (!ok)
                {
                    violations.Enqueue($"{tool}: {d}");
                }

                Interlocked.Increment(ref decided[index]);
            }
        }

        var callers = new[] { "x", "y", "z" }.Select((t, i) => Task.Run(() => Caller(i, t))).ToArray();
        var versions = new[] { OnlyY, InvalidAllowsAll, OnlyX, OnlyY[..25], OnlyY, OnlyX[..10], OnlyX };
        var inForce = "x";
        try
        {
            for (var round = 0; round < 28; round++)
            {
                var version = versions[round % versions.Length];
                Write(version);
                _time.Advance(Interval);
                _time.Advance(Interval);
                inForce = version == OnlyX ? "x" : version == OnlyY ? "y" : inForce;
                (await Allowed(evaluator, inForce)).Should().BeTrue($"round {round} leaves the policy that allows {inForce} in force");

                // Let every caller decide a few times under this version before the next write.
                var seen = decided.Select(n => Interlocked.Read(ref n)).ToArray();
                SpinWait.SpinUntil(() => Enumerable.Range(0, 3).All(i => Interlocked.Read(ref decided[i]) >= seen[i] + 10), TimeSpan.FromSeconds(10)).Should().BeTrue();
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(callers);
        }

        violations.Should().BeEmpty();
        Interlocked.Read(ref xAllowed).Should().BePositive();
        Interlocked.Read(ref yAllowed).Should().BePositive();
        _log.Collector.GetSnapshot().Count(r => r.Id.Id == 11).Should().Be(12, "each of the 12 invalid or half-written versions was refused once");
    }

    [Test]
    public async Task CallInFlight_FinishesUnderThePolicyItStartedWith()
    {
        const string limitedX = """{ "version": "1", "default": "deny", "tools": { "x": { "limits": [ { "counter": "c", "window": "minute", "max": 5, "scope": "global" } ] } } }""";
        Write(limitedX);
        var store = new GatedStore(_time);
        using var watcher = new PolicyFileWatcher(_path, Interval, _time, _log);
        using var evaluator = new PolicyEvaluator(watcher.Initial, new PolicyEvaluatorOptions { TimeProvider = _time, CounterStore = store });
        watcher.Attach(evaluator);

        var inFlight = evaluator.EvaluateAsync(new ToolCall("x")).AsTask();
        Write(OnlyY);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await evaluator.EvaluateAsync(new ToolCall("x"))).IsAllowed.Should().BeFalse("the new policy is in force");
        store.Open();

        var decision = await inFlight;
        decision.IsAllowed.Should().BeTrue();
        decision.RuleId.Should().Be("/tools/x");
    }

    [Test]
    public async Task ReloadListener_RunsOncePerVersionPutInForce_NeverForARefusedOne()
    {
        Write(OnlyX);
        var watcher = new PolicyFileWatcher(_path, Interval, _time, _log);
        using var _ = watcher;
        using var evaluator = new PolicyEvaluator(watcher.Initial, new PolicyEvaluatorOptions { TimeProvider = _time });
        var seen = new List<PolicyDocument>();
        watcher.Attach(evaluator, seen.Add);

        Write(InvalidAllowsAll);
        _time.Advance(Interval);
        _time.Advance(Interval);
        seen.Should().BeEmpty("a refused version is never in force");

        Write(OnlyY);
        _time.Advance(Interval);
        _time.Advance(Interval);
        _time.Advance(Interval);

        seen.Should().ContainSingle().Which.Should().BeSameAs(evaluator.Policy);
        (await Allowed(evaluator, "y")).Should().BeTrue();
    }

    [Test]
    public async Task ReloadListener_ThatThrows_LeavesTheNewVersionInForceAndIsLogged()
    {
        Write(OnlyX);
        var watcher = new PolicyFileWatcher(_path, Interval, _time, _log);
        using var _ = watcher;
        using var evaluator = new PolicyEvaluator(watcher.Initial, new PolicyEvaluatorOptions { TimeProvider = _time });
        watcher.Attach(evaluator, _ => throw new InvalidOperationException("listener bug"));

        Write(OnlyY);
        _time.Advance(Interval);
        _time.Advance(Interval);

        (await Allowed(evaluator, "y")).Should().BeTrue();
        _log.LatestRecord.Id.Name.Should().Be("PolicyReloadListenerFailed");
        _log.LatestRecord.Exception.Should().BeOfType<InvalidOperationException>();

        // And the watcher goes on: the next version is applied too.
        Write(OnlyX);
        _time.Advance(Interval);
        _time.Advance(Interval);
        (await Allowed(evaluator, "x")).Should().BeTrue();
    }

    [Test]
    public async Task ConfigMapDataLinkSwap_ToATargetOfTheSameSizeAndTimes_IsPutInForce()
    {
        // A Kubernetes ConfigMap volume: policy.json -> ..data/policy.json, ..data -> ..<timestamp>; an update writes a
        // new timestamped directory and swaps ..data to it by renaming a fresh link over it. No link's own stamp moves.
        var first = WriteVersion("..2026_11_24_12_00_00.1", OnlyX);
        File.CreateSymbolicLink(Path.Combine(_dir, "..data"), Path.GetFileName(first));
        File.CreateSymbolicLink(_path, Path.Combine("..data", "policy.json"));
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;
        (await Allowed(evaluator, "x")).Should().BeTrue();

        // The tightened version has the same size and the same last-write time as the one in force: only its place differs.
        var second = WriteVersion("..2026_11_24_12_05_00.2", OnlyY);
        var swap = Path.Combine(_dir, "..data_tmp");
        File.CreateSymbolicLink(swap, Path.GetFileName(second));
        RenameOver(swap, Path.Combine(_dir, "..data"));
        Directory.Delete(first, recursive: true);
        _time.Advance(Interval);
        _time.Advance(Interval);

        (await Allowed(evaluator, "x")).Should().BeFalse("the swapped-in version no longer allows x");
        (await Allowed(evaluator, "y")).Should().BeTrue();
    }

    [Test]
    public async Task LinkToTheFile_RepointedAtAnotherFile_IsPutInForce()
    {
        var a = Path.Combine(_dir, "a.json");
        var b = Path.Combine(_dir, "b.json");
        File.WriteAllText(a, OnlyX);
        File.WriteAllText(b, OnlyY);
        File.SetLastWriteTimeUtc(b, File.GetLastWriteTimeUtc(a));
        File.CreateSymbolicLink(_path, a);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;

        var swap = Path.Combine(_dir, "next.json");
        File.CreateSymbolicLink(swap, b);
        RenameOver(swap, _path);
        _time.Advance(Interval);
        _time.Advance(Interval);

        (await Allowed(evaluator, "y")).Should().BeTrue();
        (await Allowed(evaluator, "x")).Should().BeFalse();
    }

    [Test]
    public async Task ContentRewrittenWithItsSizeAndTimesKept_IsFoundByTheContentCheck()
    {
        Write(OnlyX);
        var written = File.GetLastWriteTimeUtc(_path);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;

        using (var stream = new FileStream(_path, FileMode.Open, FileAccess.Write))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(OnlyY));
        }

        File.SetLastWriteTimeUtc(_path, written);
        for (var i = 0; i < PolicyFileWatcher.ContentCheckEvery + 2; i++)
        {
            _time.Advance(Interval);
        }

        (await Allowed(evaluator, "y")).Should().BeTrue("the periodic content check sees the new bytes");
        (await Allowed(evaluator, "x")).Should().BeFalse();
    }

    [Test]
    public async Task LinkLoop_IsReportedUnreadable_AndTheLastGoodVersionStays()
    {
        var real = Path.Combine(_dir, "real.json");
        File.WriteAllText(real, OnlyX);
        File.CreateSymbolicLink(_path, real);
        using var watcher = Watch(out var evaluator);
        using var _ = evaluator;

        // policy.json -> loop-b -> policy.json.
        var loopA = Path.Combine(_dir, "loop-a");
        File.CreateSymbolicLink(Path.Combine(_dir, "loop-b"), _path);
        File.CreateSymbolicLink(loopA, Path.Combine(_dir, "loop-b"));
        RenameOver(loopA, _path);
        _time.Advance(Interval);
        _time.Advance(Interval);

        (await Allowed(evaluator, "x")).Should().BeTrue();
        _log.LatestRecord.Id.Name.Should().Be("PolicyFileUnreadable");
        _log.LatestRecord.Exception!.Message.Should().Contain("Too many levels of symbolic links");
    }

    [Test]
    public void ResolveLinks_ResolvesDirectoryLinksInTheMiddleOfThePath_AndRelativeTargets()
    {
        var target = Directory.CreateDirectory(Path.Combine(_dir, "v1", "conf")).FullName;
        File.WriteAllText(Path.Combine(target, "policy.json"), OnlyX);
        Directory.CreateSymbolicLink(Path.Combine(_dir, "current"), Path.Combine("v1", "conf"));
        File.CreateSymbolicLink(Path.Combine(_dir, "p.json"), Path.Combine("current", ".", "policy.json"));

        PolicyFileWatcher.FileStamp.ResolveLinks(Path.Combine(_dir, "p.json"))
            .Should().Be(Path.Combine(PolicyFileWatcher.FileStamp.ResolveLinks(_dir), "v1", "conf", "policy.json"));
    }

    /// <summary>Renames <paramref name="source"/> over <paramref name="destination"/> in one rename(2), as the kubelet swaps <c>..data</c> (File.Move follows a directory link).</summary>
    private static void RenameOver(string source, string destination)
    {
        using var mv = System.Diagnostics.Process.Start("mv", ["-T", source, destination]);
        mv.WaitForExit();
        mv.ExitCode.Should().Be(0, "mv -T renames the link itself");
    }

    /// <summary>Writes a version into a directory of its own, as the kubelet does, and returns the directory.</summary>
    private string WriteVersion(string name, string text)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        var file = Path.Combine(dir, "policy.json");
        File.WriteAllText(file, text);
        File.SetLastWriteTimeUtc(file, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        return dir;
    }

    private PolicyFileWatcher Watch(out PolicyEvaluator evaluator, TimeProvider? evaluatorClock = null)
    {
        var watcher = new PolicyFileWatcher(_path, Interval, _time, _log);
        evaluator = new PolicyEvaluator(watcher.Initial, new PolicyEvaluatorOptions { TimeProvider = evaluatorClock ?? _time });
        watcher.Attach(evaluator);
        return watcher;
    }

    /// <summary>Writes the file with a last-write time of its own, so each write is a change whatever the file system's timestamp resolution.</summary>
    private void Write(string text)
    {
        File.WriteAllText(_path, text);
        File.SetLastWriteTimeUtc(_path, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(++_writes));
    }

    private static async Task<bool> Allowed(PolicyEvaluator evaluator, string tool) =>
        (await evaluator.EvaluateAsync(new ToolCall(tool, new CallerIdentity { GrantId = "grant-1" }))).IsAllowed;

    /// <summary>A store whose reservations wait until the test opens the gate.</summary>
    private sealed class GatedStore(TimeProvider time) : CounterStore
    {
        private readonly InMemoryCounterStore _inner = new(new InMemoryCounterStoreOptions { TimeProvider = time });
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public void Open() => _gate.TrySetResult();

        public override async ValueTask<CounterReservationResult> TryReserveAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                await _gate.Task;
            }

            return await _inner.TryReserveAsync(requests, budgets, cancellationToken);
        }

        public override ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default) => _inner.ReleaseAsync(reserved, cancellationToken);

        public override ValueTask GetBudgetsAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default) =>
            _inner.GetBudgetsAsync(requests, budgets, cancellationToken);
    }
}
