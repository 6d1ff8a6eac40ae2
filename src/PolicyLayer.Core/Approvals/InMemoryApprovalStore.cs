namespace PolicyLayer;

/// <summary>
/// An <see cref="ApprovalStore"/> in this process's memory, bounded by <see cref="InMemoryApprovalStoreOptions.MaxRecords"/>.
/// Records do not survive a restart: use the Redis store for that, or for several instances.
/// </summary>
public sealed class InMemoryApprovalStore : ApprovalStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _records = new(StringComparer.Ordinal);
    private readonly int _maxRecords;
    private readonly TimeSpan _keepFinishedFor;
    private readonly TimeProvider _time;

    /// <summary>Creates a store.</summary>
    /// <param name="options">The bound and the clock; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public InMemoryApprovalStore(InMemoryApprovalStoreOptions? options = null)
    {
        options ??= new InMemoryApprovalStoreOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRecords, 1, "InMemoryApprovalStoreOptions.MaxRecords");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.KeepFinishedFor, TimeSpan.Zero, "InMemoryApprovalStoreOptions.KeepFinishedFor");
        ArgumentNullException.ThrowIfNull(options.TimeProvider, "InMemoryApprovalStoreOptions.TimeProvider");
        _maxRecords = options.MaxRecords;
        _keepFinishedFor = options.KeepFinishedFor;
        _time = options.TimeProvider;
    }

    /// <inheritdoc/>
    public override ValueTask<bool> TryAddAsync(ApprovalRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            Forget(now);
            if (_records.Count >= _maxRecords && !EvictFinished(now))
            {
                return ValueTask.FromResult(false);
            }

            return ValueTask.FromResult(_records.TryAdd(record.Id, new Entry(record)));
        }
    }

    /// <inheritdoc/>
    public override ValueTask<ApprovalRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return ValueTask.FromResult(_records.TryGetValue(id, out var entry) ? entry.Record.AsOf(now) : null);
        }
    }

    /// <inheritdoc/>
    public override ValueTask<IReadOnlyList<ApprovalRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        ApprovalRecord[] records;
        lock (_lock)
        {
            Forget(now);
            records = new ApprovalRecord[_records.Count];
            var i = 0;
            foreach (var entry in _records.Values)
            {
                records[i++] = entry.Record.AsOf(now);
            }
        }

        Array.Sort(records, static (a, b) => b.CreatedAt.CompareTo(a.CreatedAt) is var c and not 0 ? c : string.CompareOrdinal(a.Id, b.Id));
        return ValueTask.FromResult<IReadOnlyList<ApprovalRecord>>(records);
    }

    /// <inheritdoc/>
    public override ValueTask<ApprovalDecisionResult> DecideAsync(string id, bool approve, string decidedBy, string? note, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentException.ThrowIfNullOrEmpty(decidedBy);
        var now = _time.GetUtcNow();
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (!_records.TryGetValue(id, out var entry))
            {
                return ValueTask.FromResult(ApprovalDecisionResult.NotFound);
            }

            switch (entry.Record.StatusAt(now))
            {
                case ApprovalStatus.Expired:
                    return ValueTask.FromResult(ApprovalDecisionResult.Expired);
                case not ApprovalStatus.Pending:
                    return ValueTask.FromResult(ApprovalDecisionResult.AlreadyDecided);
            }

            entry.Record = entry.Record.Answered(approve, decidedBy, note, now);
            changed = entry.TakeChanged();
        }

        changed.TrySetResult();
        return ValueTask.FromResult(ApprovalDecisionResult.Decided);
    }

    /// <inheritdoc/>
    public override ValueTask<bool> TryUseAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var now = _time.GetUtcNow();
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (!_records.TryGetValue(id, out var entry) || entry.Record.StatusAt(now) != ApprovalStatus.Approved)
            {
                return ValueTask.FromResult(false);
            }

            entry.Record = entry.Record.Spent();
            changed = entry.TakeChanged();
        }

        changed.TrySetResult();
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc/>
    public override async ValueTask WaitForChangeAsync(string id, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        Task changed;
        lock (_lock)
        {
            // Checked with the signal taken, under the lock: an answer given just before the wait is not missed.
            if (!_records.TryGetValue(id, out var entry) || entry.Record.StatusAt(_time.GetUtcNow()) != ApprovalStatus.Pending)
            {
                return;
            }

            changed = entry.Changed.Task;
        }

        if (maxWait <= TimeSpan.Zero)
        {
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(maxWait, _time, stop.Token);
        await Task.WhenAny(changed, delay).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    // Forgets records that expired longer ago than they are kept listed. Linear in the records kept, which are bounded.
    private void Forget(DateTimeOffset now)
    {
        List<string>? gone = null;
        foreach (var (id, entry) in _records)
        {
            if (now >= entry.Record.ExpiresAt + _keepFinishedFor)
            {
                (gone ??= []).Add(id);
            }
        }

        if (gone is not null)
        {
            foreach (var id in gone)
            {
                _records.Remove(id);
            }
        }
    }

    // Makes room by forgetting the oldest record that is no longer live (answered and not approved, used, or expired).
    private bool EvictFinished(DateTimeOffset now)
    {
        string? oldest = null;
        var oldestAt = DateTimeOffset.MaxValue;
        foreach (var (id, entry) in _records)
        {
            if (entry.Record.StatusAt(now) is ApprovalStatus.Pending or ApprovalStatus.Approved)
            {
                continue;
            }

            if (entry.Record.CreatedAt < oldestAt)
            {
                oldest = id;
                oldestAt = entry.Record.CreatedAt;
            }
        }

        return oldest is not null && _records.Remove(oldest);
    }

    private sealed class Entry(ApprovalRecord record)
    {
        public ApprovalRecord Record { get; set; } = record;

        public TaskCompletionSource Changed { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource TakeChanged()
        {
            var changed = Changed;
            Changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return changed;
        }
    }
}
