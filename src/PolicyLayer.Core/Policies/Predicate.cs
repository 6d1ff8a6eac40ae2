namespace PolicyLayer.Policies;

/// <summary>
/// One entry of <c>require</c>, <c>deny_if</c> or <c>require_approval_if</c>: conditions that are ANDed (an empty
/// list always matches) and the text the agent reads. The hosted shape, <c>{"conditions": [...], "on_deny": "..."}</c>,
/// and a bare condition (a one-condition predicate whose <c>reason</c> is the text) both compile to this.
/// </summary>
internal sealed class Predicate : PolicyItem
{
    /// <summary>The conditions, all of which must hold for the predicate to match.</summary>
    public required Condition[] Conditions { get; init; }

    /// <summary><c>on_deny</c> of the hosted shape, or the bare condition's <c>reason</c>; null when the document gives none.</summary>
    public string? Reason { get; init; }

    /// <summary>The predicate in words: its conditions joined by "and", or "every call" for an empty list; made on first use.</summary>
    public string Text
    {
        // Two threads may both make it; they make equal texts, and either may win.
        get => _text ??= Conditions switch
        {
            [] => "every call matches (no conditions)",
            [var only] => only.Text,
            _ => string.Join(" and ", Conditions.Select(c => c.Text)),
        };
        init => _text = value;
    }

    private string? _text;
}

/// <summary>Where a condition reads its value: the call's arguments, or a property of the caller.</summary>
internal enum PathSource
{
    Arguments,
    Grant,
    User,
    Agent,
    Session,
    Claim,
}

/// <summary>
/// The <c>path</c> of a condition: <c>args.</c> and a dotted path into the arguments, or <c>caller.grant</c>,
/// <c>caller.user</c>, <c>caller.agent</c>, <c>caller.session</c>, <c>caller.claims.&lt;type&gt;</c>. A claim type
/// is taken whole (it may hold dots, as URI claim types do).
/// </summary>
internal sealed class ConditionPath
{
    public const string ClaimsPrefix = "caller.claims.";

    private ConditionPath(string text, PathSource source, ArgumentPath? argument, string? claimType)
    {
        Text = text;
        Source = source;
        Argument = argument;
        ClaimType = claimType;
    }

    /// <summary>The path as written.</summary>
    public string Text { get; }

    public PathSource Source { get; }

    /// <summary>For <see cref="PathSource.Arguments"/>, the path into the arguments; else null.</summary>
    public ArgumentPath? Argument { get; }

    /// <summary>For <see cref="PathSource.Claim"/>, the claim type; else null.</summary>
    public string? ClaimType { get; }

    public static ConditionPath ForArguments(ArgumentPath argument) => new(argument.Text, PathSource.Arguments, argument, null);

    /// <summary>A caller path, or null when <paramref name="text"/> names no caller property.</summary>
    public static ConditionPath? ForCaller(string text) => text switch
    {
        "caller.grant" => new(text, PathSource.Grant, null, null),
        "caller.user" => new(text, PathSource.User, null, null),
        "caller.agent" => new(text, PathSource.Agent, null, null),
        "caller.session" => new(text, PathSource.Session, null, null),
        _ when text.StartsWith(ClaimsPrefix, StringComparison.Ordinal) && text.Length > ClaimsPrefix.Length =>
            new(text, PathSource.Claim, null, text[ClaimsPrefix.Length..]),
        _ => null,
    };

    /// <summary>Whether the value is the caller's, which is always text (so numeric operators do not apply).</summary>
    public bool IsCaller => Source != PathSource.Arguments;

    public override string ToString() => Text;
}
