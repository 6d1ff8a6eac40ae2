namespace PolicyLayer;

/// <summary>Options of the <see cref="RedisApprovalStore"/>.</summary>
public sealed class RedisApprovalStoreOptions
{
    /// <summary>The start of every key the store writes: <c>{&lt;prefix&gt;:approvals}:…</c> (one hash slot, so that each operation is one atomic script in a cluster too).</summary>
    /// <value>The default value is <c>"policylayer"</c>.</value>
    public string KeyPrefix { get; set; } = "policylayer";

    /// <summary>The Redis database.</summary>
    /// <value>The default value is -1 (the connection's default).</value>
    public int Database { get; set; } = -1;

    /// <summary>The most records kept; as in <see cref="InMemoryApprovalStoreOptions.MaxRecords"/>, finished records make room, live ones never.</summary>
    /// <value>The default value is 1,000.</value>
    public int MaxRecords { get; set; } = 1000;

    /// <summary>How long a finished record stays listed after it expired (its key's time to live).</summary>
    /// <value>The default value is 1 hour.</value>
    public TimeSpan KeepFinishedFor { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often a waiting call re-reads its record (Redis does not tell it of changes).</summary>
    /// <value>The default value is 500 milliseconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The clock of expiry, shared with the <see cref="ApprovalInbox"/>; instances should agree on the time.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
