namespace PolicyLayer;

/// <summary>Options of the <see cref="InMemoryApprovalStore"/>.</summary>
public sealed class InMemoryApprovalStoreOptions
{
    /// <summary>
    /// The most records kept. When a new call would pass it, answered and expired records are forgotten, oldest first;
    /// when every record is still live, the new call is refused rather than held.
    /// </summary>
    /// <value>The default value is 1,000.</value>
    public int MaxRecords { get; set; } = 1000;

    /// <summary>How long an answered, used or expired record stays listed (for who decided and when) after it expired.</summary>
    /// <value>The default value is 1 hour.</value>
    public TimeSpan KeepFinishedFor { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The clock of expiry.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
