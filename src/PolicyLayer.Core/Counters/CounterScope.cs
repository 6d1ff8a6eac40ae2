namespace PolicyLayer;

/// <summary>Whose calls a limit counts together.</summary>
public enum CounterScope
{
    /// <summary>One agent session (the default scope of a limit).</summary>
    Session = 0,

    /// <summary>The credential the agent uses.</summary>
    Grant = 1,

    /// <summary>One client application.</summary>
    Agent = 2,

    /// <summary>The person behind the agent.</summary>
    User = 3,

    /// <summary>Everyone together.</summary>
    Global = 4,
}
