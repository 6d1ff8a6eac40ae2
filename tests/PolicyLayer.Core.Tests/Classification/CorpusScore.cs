using System.Globalization;
using System.Text;

namespace PolicyLayer.Core.Tests.Classification;

/// <summary>One tool's verdict against its label.</summary>
internal sealed record CorpusVerdict(CorpusTool Tool, RiskProfile Profile)
{
    public bool Exact => Profile.Category == Tool.Label;

    public bool Acceptable => Tool.Accepts(Profile.Category);

    /// <summary>A Destructive, Execute or Financial tool that the classifier let through as Read.</summary>
    public bool DangerousAsRead => Tool.Label is RiskCategory.Destructive or RiskCategory.Execute or RiskCategory.Financial
        && Profile.Category == RiskCategory.Read;
}

/// <summary>Scores the classifier on a set of corpus tools and writes the tables of docs/classification-accuracy.md.</summary>
internal sealed class CorpusScore
{
    private static readonly RiskCategory[] Categories = Enum.GetValues<RiskCategory>();

    public CorpusScore(IEnumerable<CorpusTool> tools, ToolRiskClassifier classifier)
    {
        Verdicts = tools.Select(t => new CorpusVerdict(t, classifier.Classify(t.Descriptor))).ToArray();
    }

    public IReadOnlyList<CorpusVerdict> Verdicts { get; }

    public int Count => Verdicts.Count;

    public int ExactCount => Verdicts.Count(v => v.Exact);

    public int AcceptableCount => Verdicts.Count(v => v.Acceptable);

    public double Exact => (double)ExactCount / Count;

    public double Acceptable => (double)AcceptableCount / Count;

    public IReadOnlyList<CorpusVerdict> DangerousAsRead => Verdicts.Where(v => v.DangerousAsRead).ToArray();

    public double Precision(RiskCategory category)
    {
        int predicted = Verdicts.Count(v => v.Profile.Category == category);
        return predicted == 0 ? double.NaN : (double)Verdicts.Count(v => v.Profile.Category == category && v.Exact) / predicted;
    }

    public double Recall(RiskCategory category)
    {
        int labelled = Verdicts.Count(v => v.Tool.Label == category);
        return labelled == 0 ? double.NaN : (double)Verdicts.Count(v => v.Tool.Label == category && v.Exact) / labelled;
    }

    public string Summary(string title) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {title} | {Verdicts.Select(v => v.Tool.Server).Distinct().Count()} | {Count} | {ExactCount} ({Exact:P1}) | {AcceptableCount} ({Acceptable:P1}) | {DangerousAsRead.Count} |");

    public static string SummaryHeader =>
        "| servers | count | tools | exact | label or a defensible alternative | Destructive, Execute or Financial classified Read |\n|---|---:|---:|---:|---:|---:|";

    public string CategoryTable()
    {
        var text = new StringBuilder();
        text.AppendLine("| category | labelled | classified | precision | recall |");
        text.AppendLine("|---|---:|---:|---:|---:|");
        foreach (RiskCategory category in Categories)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {category} | {Verdicts.Count(v => v.Tool.Label == category)} | {Verdicts.Count(v => v.Profile.Category == category)} | {Precision(category):P1} | {Recall(category):P1} |"));
        }

        return text.ToString();
    }

    public string ConfusionTable()
    {
        var text = new StringBuilder();
        text.AppendLine("| label \\ classified | " + string.Join(" | ", Categories) + " |");
        text.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", Categories.Length)));
        foreach (RiskCategory label in Categories)
        {
            text.AppendLine($"| {label} | " + string.Join(" | ", Categories.Select(c => Verdicts.Count(v => v.Tool.Label == label && v.Profile.Category == c))) + " |");
        }

        return text.ToString();
    }

    public string ServerTable(Func<string, bool> heldOut)
    {
        var text = new StringBuilder();
        text.AppendLine("| server | repository @ commit | tools | exact | acceptable | dangerous as Read |");
        text.AppendLine("|---|---|---:|---:|---:|---:|");
        foreach (IGrouping<string, CorpusVerdict> server in Verdicts.GroupBy(v => v.Tool.Server).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            CorpusTool first = server.First().Tool;
            int n = server.Count();
            string name = heldOut(server.Key) ? $"{server.Key} (held out)" : server.Key;
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {first.Repository} @ {first.Commit[..10]} | {n} | {(double)server.Count(v => v.Exact) / n:P0} | {(double)server.Count(v => v.Acceptable) / n:P0} | {server.Count(v => v.DangerousAsRead)} |"));
        }

        return text.ToString();
    }

    public string Misses(bool onlyUnacceptable)
    {
        var text = new StringBuilder();
        foreach (CorpusVerdict v in Verdicts.Where(v => onlyUnacceptable ? !v.Acceptable : !v.Exact))
        {
            string alternatives = v.Tool.Alternatives.Count == 0 ? string.Empty : $" (or {string.Join("/", v.Tool.Alternatives)})";
            text.AppendLine($"- {v.Tool.Server}/`{v.Tool.Descriptor.Name}`: labelled {v.Tool.Label}{alternatives}, classified {v.Profile.Category}: {v.Profile.Evidence[0]}");
        }

        return text.ToString();
    }
}
