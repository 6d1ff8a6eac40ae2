namespace PolicyLayer;

/// <summary>Whose calls a limit counts together.</summary>
public enum CounterScope
{
    /// <summary>One agent session (the scope of the <c>rate_limit</c> shorthand).</summary>
    Session = 0,

    /// <summary>The credential the agent uses (the default scope of a limit, as in the hosted product).</summary>
    Grant = 1,

    /// <summary>One client application.</summary>
    Agent = 2,

    /// <summary>The person behind the agent.</summary>
    User = 3,

    /// <summary>Everyone together.</summary>
    Global = 4,
}

/// <summary>The scope's name as the policy document spells it.</summary>
internal static class CounterScopeNames
{
    /// <summary><c>grant</c>, <c>session</c>, <c>agent</c>, <c>user</c> or <c>global</c>.</summary>
    public static string Name(this CounterScope scope) => scope switch
    {
        CounterScope.Grant => "grant",
        CounterScope.Session => "session",
        CounterScope.Agent => "agent",
        CounterScope.User => "user",
        _ => "global",
    };
}
