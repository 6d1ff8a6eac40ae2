namespace PolicyLayer;

/// <summary>
/// Where calls held for an out-of-band approval are recorded. Every operation is atomic: a record takes one answer,
/// and an approved record is spent by one call, on any instance that shares the store.
/// </summary>
/// <remarks>
/// Implementations must be safe from many threads, bound what they keep, and treat a record past its
/// <see cref="ApprovalRecord.ExpiresAt"/> as expired. The in-memory store serves one process; the Redis store
/// (package PolicyLayer.Redis) survives a restart and serves several instances.
/// </remarks>
public abstract class ApprovalStore
{
    /// <summary>Stores a new pending record.</summary>
    /// <param name="record">The record; its id is new.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>False when the store is full of live records (the call is then refused, never held unbounded).</returns>
    public abstract ValueTask<bool> TryAddAsync(ApprovalRecord record, CancellationToken cancellationToken = default);

    /// <summary>Reads one record, with its status as of now (expired when past its time).</summary>
    /// <param name="id">The record's id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The record, or null when there is none.</returns>
    public abstract ValueTask<ApprovalRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Lists the records the store keeps, newest first, with their status as of now.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The records.</returns>
    public abstract ValueTask<IReadOnlyList<ApprovalRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Answers a pending record, once.</summary>
    /// <param name="id">The record's id.</param>
    /// <param name="approve">Approve, or deny.</param>
    /// <param name="decidedBy">Who answered.</param>
    /// <param name="note">An optional note.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether the answer was recorded, and if not, why.</returns>
    public abstract ValueTask<ApprovalDecisionResult> DecideAsync(string id, bool approve, string decidedBy, string? note, CancellationToken cancellationToken = default);

    /// <summary>Spends an approved, unexpired record: true for the first caller, false for every other (and for any other status).</summary>
    /// <param name="id">The record's id.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether this call may go ahead on the approval.</returns>
    public abstract ValueTask<bool> TryUseAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the record may have changed, or <paramref name="maxWait"/> has passed, whichever is first; returns at
    /// once when the record is no longer pending (so that an answer given just before the wait is not missed). A store
    /// that cannot signal changes waits a short poll interval; callers re-read the record either way.
    /// </summary>
    /// <param name="id">The record's id.</param>
    /// <param name="maxWait">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public abstract ValueTask WaitForChangeAsync(string id, TimeSpan maxWait, CancellationToken cancellationToken = default);
}
