using System.Text.Json;

namespace PolicyLayer.Core.Tests.Classification;

/// <summary>One labelled tool of the corpus (Classification/Corpus/*.json).</summary>
internal sealed record CorpusTool(
    string Server,
    string Repository,
    string Commit,
    string Path,
    ToolDescriptor Descriptor,
    RiskCategory Label,
    IReadOnlyList<RiskCategory> Alternatives,
    string? Note)
{
    /// <summary>The label or one of the defensible alternatives.</summary>
    public bool Accepts(RiskCategory category) => category == Label || Alternatives.Contains(category);
}

/// <summary>Loads the labelled corpus of real MCP tools, one file per server.</summary>
internal static class ClassificationCorpus
{
    /// <summary>
    /// Servers whose classifier verdicts nobody looked at while the rules were tuned: chosen before
    /// tuning, as the servers new to the corpus whose name's SHA-256 begins with a byte divisible by 3.
    /// Their accuracy is the honest estimate for a server nobody has seen.
    /// </summary>
    public static readonly IReadOnlySet<string> HeldOutServers = new HashSet<string>(StringComparer.Ordinal)
    {
        "buildkite", "discord", "docker", "e2b", "gmail", "jupyter", "neon", "paddle", "playwright", "salesforce",
    };

    public static string DirectoryPath { get; } =
        System.IO.Path.Combine(AppContext.BaseDirectory, "Classification", "Corpus");

    /// <summary>
    /// The fresh held-out set (Classification/FreshCorpus/): servers added after the rules were
    /// frozen, labelled from the guide before the classifier ran on them, and never tuned against.
    /// </summary>
    public static string FreshDirectoryPath { get; } =
        System.IO.Path.Combine(AppContext.BaseDirectory, "Classification", "FreshCorpus");

    /// <summary>The corpus the rules were tuned on (with its own earlier held-out servers).</summary>
    public static IReadOnlyList<CorpusTool> Tools { get; } = Load(DirectoryPath);

    /// <summary>The fresh held-out set: scored, never tuned against.</summary>
    public static IReadOnlyList<CorpusTool> FreshTools { get; } = Load(FreshDirectoryPath);

    public static ToolDescriptor ToDescriptor(JsonElement tool)
    {
        ToolAnnotations? annotations = null;
        if (tool.TryGetProperty("annotations", out JsonElement a) && a.ValueKind == JsonValueKind.Object)
        {
            annotations = new ToolAnnotations
            {
                ReadOnlyHint = Hint(a, "readOnlyHint"),
                DestructiveHint = Hint(a, "destructiveHint"),
                IdempotentHint = Hint(a, "idempotentHint"),
                OpenWorldHint = Hint(a, "openWorldHint"),
            };
        }

        JsonElement? schema = tool.TryGetProperty("inputSchema", out JsonElement s) ? s.Clone() : null;
        string? description = tool.TryGetProperty("description", out JsonElement d) ? d.GetString() : null;
        return new ToolDescriptor(tool.GetProperty("name").GetString()!, description, annotations, schema);
    }

    private static bool? Hint(JsonElement annotations, string name) =>
        annotations.TryGetProperty(name, out JsonElement value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;

    private static List<CorpusTool> Load(string directory)
    {
        var tools = new List<CorpusTool>();
        foreach (string file in Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(file));
            JsonElement root = document.RootElement;
            string server = root.GetProperty("server").GetString()!;
            string repository = root.GetProperty("repository").GetString()!;
            string commit = root.GetProperty("commit").GetString()!;
            foreach (JsonElement tool in root.GetProperty("tools").EnumerateArray())
            {
                IReadOnlyList<RiskCategory> alternatives = tool.TryGetProperty("alternatives", out JsonElement alts)
                    ? alts.EnumerateArray().Select(x => Enum.Parse<RiskCategory>(x.GetString()!)).ToArray()
                    : [];
                tools.Add(new CorpusTool(
                    server,
                    repository,
                    commit,
                    tool.GetProperty("path").GetString()!,
                    ToDescriptor(tool),
                    Enum.Parse<RiskCategory>(tool.GetProperty("label").GetString()!),
                    alternatives,
                    tool.TryGetProperty("note", out JsonElement note) ? note.GetString() : null));
            }
        }

        return tools;
    }
}
