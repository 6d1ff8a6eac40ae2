using System.Collections.Frozen;

namespace PolicyLayer;

/// <summary>What a word says about a tool's effect.</summary>
internal enum WordKind : byte
{
    /// <summary>A verb with no side effects: get, list, search.</summary>
    ReadVerb,

    /// <summary>A verb that creates or changes data: create, update, send.</summary>
    WriteVerb,

    /// <summary>A verb that runs something open-ended: execute, run, trigger.</summary>
    ExecuteVerb,

    /// <summary>A verb that destroys: delete, drop, purge, kill.</summary>
    DestructiveVerb,

    /// <summary>A verb that moves money by itself: refund, charge, pay.</summary>
    FinancialVerb,

    /// <summary>A verb that runs something only when its object is runnable: start a process, resume an execution.</summary>
    ContextExecuteVerb,
}

/// <summary>
/// The words the classifier knows. Every rule is about verbs, nouns, phrases and schema shapes,
/// never about particular tool names, so that it holds for servers it has never seen.
/// </summary>
internal static class RiskVocabulary
{
    /// <summary>Verbs, by the effect they name.</summary>
    public static readonly FrozenDictionary<string, WordKind> Verbs = BuildVerbs();

    /// <summary><see cref="Verbs"/> looked up by span, so that no word is allocated.</summary>
    public static readonly FrozenDictionary<string, WordKind>.AlternateLookup<ReadOnlySpan<char>> VerbLookup =
        Verbs.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>
    /// Verbs that are as often nouns: <c>pull_request</c>, <c>get_tag</c>, <c>pipelines_run</c>. A name's verb
    /// is one of these only when it opens the name or no other verb is there, and then it gives way to
    /// the description's verb.
    /// </summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> NounLikeVerbs = Set(
        "request", "tag", "block", "run", "log", "label", "comment", "record", "schedule", "draft", "status", "stage",
        "link", "star", "pin", "lock", "watch", "type", "post", "patch", "change", "count", "query", "check", "print",
        "store", "share", "transfer", "sync", "commit", "merge", "push", "mark", "vote", "build", "diff", "map", "stat",
        "view", "display", "order", "bill", "invoice", "charge", "tip", "deposit", "payout", "refund", "act", "place",
        "complete", "scale", "load", "state", "dispatch", "echo", "ping", "follow", "tail", "select", "set", "put");

    /// <summary>
    /// HTTP methods that REST-shaped names put before the operation (<c>postSearch</c>,
    /// <c>API-post-search</c>, <c>put_upload</c>): when a verb follows, that verb is the action.
    /// </summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> HttpMethodVerbs = Set(
        "post", "put", "patch");

    /// <summary>
    /// Opening words of a description that say the tool hands something back: "Returns all console
    /// messages". Only a description's opening verb; in a name, <c>return_order</c> is a business action.
    /// </summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> DescriptionReadVerbs = Set(
        "return", "returns");

    /// <summary>Things a generator hands back as text: types, code, a schema, a diagram, a QR code.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> TextArtefacts = Set(
        "type", "types", "typescript", "code", "schema", "schemas", "qr", "diagram", "diagrams", "docs", "documentation",
        "markdown", "summary", "sql", "regex", "snippet", "snippets", "json", "yaml", "mermaid", "example", "examples",
        "readme", "changelog", "prompt", "prompts");

    /// <summary>Fixed pairs whose second verb is not an action of its own: "drag and drop".</summary>
    public static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> FixedPairLookup =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["drag"] = "drop" }
            .ToFrozenDictionary(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Words that join two actions in a name or sentence: <c>fetch_and_delete</c>, "reads it and then deletes it".</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> Conjunctions = Set(
        "and", "then", "or", "plus", "also");

    /// <summary>
    /// Things that link two others: removing one unlinks, it does not destroy (<c>remove_team_member</c>,
    /// <c>remove_tag_from_task</c>).
    /// </summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> RelationNouns = Set(
        "member", "members", "membership", "memberships", "tag", "tags", "label", "labels", "assignee", "assignees",
        "reviewer", "reviewers", "dependency", "dependencies", "dependent", "dependents", "responder", "responders",
        "collaborator", "collaborators", "follower", "followers", "watcher", "watchers", "subscriber", "subscribers",
        "link", "links", "relation", "relations", "association", "associations", "participant", "participants",
        "reaction", "reactions", "sub", "parent", "child", "children", "permission", "permissions", "access", "from");

    /// <summary>The values of a JSON Patch <c>op</c>: edits of a document, not actions of a tool.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> JsonPatchOperations = Set(
        "add", "remove", "replace", "move", "copy", "test");

    /// <summary>Objects that run when started: processes, executions, workflows, jobs.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> RunnableNouns = Set(
        "process", "processes", "execution", "executions", "flow", "flows", "workflow", "workflows",
        "job", "jobs", "pipeline", "pipelines", "task", "tasks", "taskrun", "taskruns", "command", "commands",
        "script", "scripts", "build", "builds", "run", "runs", "container", "containers", "kernel", "kernels", "sandbox",
        "sandboxes");

    /// <summary>Nouns of money in a tool's name: a changing verb on one of these moves money or changes billing.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> FinancialNouns = Set(
        "refund", "refunds", "payment", "payments", "payout", "payouts", "charge", "charges", "invoice", "invoices",
        "subscription", "subscriptions", "price", "prices", "pricing", "coupon", "coupons", "discount", "discounts",
        "billing", "bill", "bills", "dispute", "disputes", "fee", "fees", "cost", "costs", "money", "fund", "funds",
        "wallet", "wallets", "order", "orders", "trade", "trades", "credit", "credits", "transfer", "transfers");

    /// <summary>Words after a money noun that do not change what the name is about: <c>refund_by_id</c>, <c>invoices_all</c>.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> NameTailWords = Set(
        "id", "ids", "by", "for", "from", "to", "with", "all", "v1", "v2", "v3", "item", "items", "line", "lines", "intent",
        "intents", "session", "sessions", "status", "claim", "claims");

    /// <summary>
    /// Financial nouns that also name non-financial things when another noun qualifies them
    /// (a notification subscription, a webhook subscription).
    /// </summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> QualifiableFinancialNouns = Set(
        "subscription", "subscriptions");

    /// <summary>Words of input properties that carry money: amount, currency, price.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> FinancialPropertyWords = Set(
        "amount", "amounts", "currency", "price", "fee", "fees", "cost", "refund", "payment", "charge", "payout");

    /// <summary>Words in a description that speak of money moving.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> FinancialDescriptionWords = Set(
        "refund", "refunds", "payout", "payouts", "payment", "payments", "money", "funds");

    /// <summary>Words that make a <c>query</c> property SQL rather than a search string.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> SqlContextWords = Set(
        "sql", "sqlite", "postgres", "postgresql", "mysql", "mssql", "mariadb", "ddl", "dml", "database", "databases",
        "select", "insert");

    /// <summary>Input properties that take free-form code, commands or SQL.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> CodeProperties = Set(
        "sql", "command", "commands", "cmd", "code", "script", "scripts", "shell", "statement", "statements", "program");

    /// <summary>Languages: a property named <c>&lt;language&gt;_code</c> takes code.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> Languages = Set(
        "python", "py", "js", "javascript", "typescript", "ts", "ruby", "bash", "shell", "sh", "powershell",
        "sql", "lua", "php", "perl", "r");

    /// <summary>Input properties whose enum lists the actions of a multi-action tool.</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> ActionProperties = Set(
        "action", "method", "operation", "op", "actions", "operations");

    /// <summary>Words a description opens with before its verb: "This tool will create ...".</summary>
    public static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> LeadingFillers = Set(
        "this", "tool", "tools", "will", "the", "a", "an", "to", "use", "used", "function", "is", "that", "it", "can",
        "you", "please", "helps", "allows", "lets", "us", "we", "i", "simply", "just", "mcp");

    /// <summary>Phrases in a description that say data is lost for good.</summary>
    public static readonly string[] DestructivePhrases =
    [
        "permanently", "irreversib", "cannot be undone", "can't be undone", "can not be undone", "will be lost",
        "completely overwrite", "cannot be recovered", "can't be recovered", "discarding all", "discards all",
    ];

    private static FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> Set(params string[] words) =>
        words.ToFrozenSet(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    private static FrozenDictionary<string, WordKind> BuildVerbs()
    {
        var verbs = new Dictionary<string, WordKind>(StringComparer.OrdinalIgnoreCase);
        void Add(WordKind kind, params string[] words)
        {
            foreach (string word in words)
            {
                verbs[word] = kind;
            }
        }

        Add(WordKind.ReadVerb,
            "get", "list", "read", "search", "find", "fetch", "retrieve", "show", "describe", "view", "lookup", "browse",
            "count", "inspect", "download", "follow", "tail", "stat", "status", "diff", "log", "preview", "explain",
            "summarize", "summarise", "analyze", "analyse", "convert", "calculate", "screenshot", "navigate", "hover",
            "check", "validate", "scan", "compare", "render", "echo", "ping", "poll", "wait", "estimate", "query",
            "display", "print", "peek", "discover", "explore", "load", "look", "observe", "extract", "scrape", "crawl",
            "map", "research", "audit", "monitor", "track");
        Add(WordKind.WriteVerb,
            "create", "add", "update", "set", "put", "post", "send", "reply", "edit", "modify", "patch", "change",
            "rename", "move", "copy", "insert", "upsert", "write", "append", "save", "upload", "push", "commit",
            "merge", "fork", "star", "unstar", "assign", "unassign", "request", "submit", "resolve", "unresolve",
            "mark", "dismiss", "label", "tag", "enable", "disable", "pause", "cancel", "stop", "restore", "invite",
            "accept", "approve", "reject", "close", "reopen", "lock", "unlock", "schedule", "archive", "unarchive",
            "install", "configure", "register", "subscribe", "unsubscribe", "link", "unlink", "attach", "detach",
            "reprioritize", "reprioritise", "reorder", "stage", "unstage", "checkout", "switch", "import", "publish",
            "generate", "give", "make", "finalize", "finalise", "fill", "click", "select", "type", "press", "toggle",
            "rebase", "comment", "react", "notify", "share", "transfer", "sync", "refresh", "draft", "apply",
            "vote", "reset", "clone", "init", "initialize", "store", "record", "replace", "mutate",
            "ignore", "watch", "unwatch", "pin", "unpin", "mute", "unmute", "snooze", "block", "unblock", "grant",
            "abort", "drag", "act", "emulate", "resize", "reload", "place", "scale", "reboot", "shutdown", "complete",
            "upgrade", "manage", "provision", "connect", "disconnect");
        Add(WordKind.DestructiveVerb,
            "delete", "remove", "destroy", "drop", "purge", "erase", "wipe", "truncate", "kill", "terminate",
            "revoke", "uninstall", "discard", "clear", "overwrite", "shred", "rm", "del", "evict", "flush",
            "expunge", "obliterate", "nuke", "unpublish");
        Add(WordKind.ExecuteVerb,
            "execute", "exec", "run", "rerun", "eval", "evaluate", "invoke", "trigger", "dispatch", "backfill",
            "replay", "deploy", "spawn", "launch", "call");
        Add(WordKind.FinancialVerb,
            "refund", "charge", "pay", "payout", "withdraw", "deposit", "purchase", "buy", "bill", "invoice",
            "reimburse", "donate", "tip");
        Add(WordKind.ContextExecuteVerb,
            "start", "restart", "resume", "force", "interact", "retry", "kick");

        return verbs.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}
