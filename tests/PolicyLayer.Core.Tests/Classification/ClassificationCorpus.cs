using System.Text.Json;

namespace PolicyLayer.Core.Tests.Classification;

/// <summary>One labelled tool of Fixtures/classification/corpus.json.</summary>
internal sealed record CorpusTool(string Server, string Repository, string Path, ToolDescriptor Descriptor, RiskCategory Label, string Why);

/// <summary>Loads the labelled corpus of real MCP tools.</summary>
internal static class ClassificationCorpus
{
    public static string FilePath { get; } =
        System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "classification", "corpus.json");

    public static IReadOnlyList<CorpusTool> Tools { get; } = Load();

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

    private static List<CorpusTool> Load()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(FilePath));
        var tools = new List<CorpusTool>();
        foreach (JsonElement tool in document.RootElement.GetProperty("tools").EnumerateArray())
        {
            JsonElement source = tool.GetProperty("source");
            tools.Add(new CorpusTool(
                tool.GetProperty("server").GetString()!,
                source.GetProperty("repo").GetString()!,
                source.GetProperty("path").GetString()!,
                ToDescriptor(tool),
                Enum.Parse<RiskCategory>(tool.GetProperty("label").GetString()!),
                tool.GetProperty("why").GetString()!));
        }

        return tools;
    }
}
