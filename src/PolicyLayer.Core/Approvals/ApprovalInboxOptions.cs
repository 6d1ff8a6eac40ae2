namespace PolicyLayer;

/// <summary>Options of an <see cref="ApprovalInbox"/>: how calls held for an out-of-band approval wait, and for how long.</summary>
public sealed class ApprovalInboxOptions
{
    /// <summary>What a held call does while nobody has answered, for tools <see cref="HoldModeByTool"/> does not name.</summary>
    /// <value>The default value is <see cref="ApprovalHoldMode.Auto"/>.</value>
    public ApprovalHoldMode HoldMode { get; set; } = ApprovalHoldMode.Auto;

    /// <summary>The hold mode of named tools (exact names), overriding <see cref="HoldMode"/>.</summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, ApprovalHoldMode> HoldModeByTool { get; } = new Dictionary<string, ApprovalHoldMode>(StringComparer.Ordinal);

    /// <summary>
    /// How long a held call waits for an answer, and how long its record lives: an approval must be given and used
    /// within this time from the moment the call was held. Positive and at most one day.
    /// </summary>
    /// <value>The default value is 5 minutes.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a waiting call sends the client a progress notification. Positive.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The largest arguments (canonical JSON, in bytes) a call may have to be held: the inbox shows arguments whole,
    /// never cut, so a larger call is refused instead. At least 1.
    /// </summary>
    /// <value>The default value is 256 KiB.</value>
    public int MaxArgumentBytes { get; set; } = 256 * 1024;

    /// <summary>The longest note a person may give with an answer, in characters. At least 0.</summary>
    /// <value>The default value is 1,000.</value>
    public int MaxNoteLength { get; set; } = 1000;
}
