namespace PolicyLayer.Core.Tests.Classification;

/// <summary>
/// Measures the classifier against real tools from public MCP servers, labelled by hand by what
/// each tool does (Fixtures/classification/corpus.json).
/// </summary>
public class CorpusAccuracyTests
{
    private static readonly RiskCategory[] Dangerous = [RiskCategory.Destructive, RiskCategory.Execute, RiskCategory.Financial];

    [Test]
    public void Corpus_HasAtLeast150RealToolsFromAtLeast8ServersOfEveryKind()
    {
        var tools = ClassificationCorpus.Tools;
        tools.Should().HaveCountGreaterThanOrEqualTo(150);
        tools.Select(t => t.Server).Distinct().Should().HaveCountGreaterThanOrEqualTo(8);
        tools.Select(t => t.Label).Distinct().Should().BeEquivalentTo(Enum.GetValues<RiskCategory>());
        tools.Where(t => t.Descriptor.Annotations is null).Select(t => t.Server).Distinct().Should().HaveCountGreaterThanOrEqualTo(3,
            "servers without annotations must be part of the corpus");
        tools.Should().OnlyContain(t => t.Repository.Contains('/') && t.Path.Length > 0 && t.Why.Length > 0);
    }

    [Test]
    public void Classify_Corpus_AgreesWithTheLabelsOnAtLeast90Percent()
    {
        var tools = ClassificationCorpus.Tools;
        var misses = new List<string>();
        var confusion = new int[5, 5];
        foreach (CorpusTool tool in tools)
        {
            RiskProfile profile = ToolRiskClassifier.Default.Classify(tool.Descriptor);
            confusion[(int)tool.Label, (int)profile.Category]++;
            if (profile.Category != tool.Label)
            {
                misses.Add($"  {tool.Server}/{tool.Descriptor.Name}: labelled {tool.Label} ({tool.Why}); classified {profile.Category}: {profile.Evidence[0]}");
            }
        }

        int correct = tools.Count - misses.Count;
        double accuracy = (double)correct / tools.Count;
        TestContext.Out.WriteLine($"Classifier accuracy on the corpus: {correct}/{tools.Count} = {accuracy:P1} ({tools.Select(t => t.Server).Distinct().Count()} servers)");
        TestContext.Out.WriteLine("Confusion (rows: label, columns: classified Read/Write/Execute/Destructive/Financial):");
        foreach (RiskCategory label in Enum.GetValues<RiskCategory>())
        {
            TestContext.Out.WriteLine($"  {label,-12} {string.Join(" ", Enum.GetValues<RiskCategory>().Select(c => confusion[(int)label, (int)c].ToString().PadLeft(4)))}");
        }

        TestContext.Out.WriteLine("Disagreements:");
        foreach (string miss in misses)
        {
            TestContext.Out.WriteLine(miss);
        }

        accuracy.Should().BeGreaterThanOrEqualTo(0.90);
    }

    [Test]
    public void Classify_Corpus_NeverCallsADestructiveExecuteOrFinancialToolRead()
    {
        var underRated = ClassificationCorpus.Tools
            .Where(t => Dangerous.Contains(t.Label))
            .Select(t => (Tool: t, Profile: ToolRiskClassifier.Default.Classify(t.Descriptor)))
            .Where(x => x.Profile.Category == RiskCategory.Read)
            .Select(x => $"{x.Tool.Server}/{x.Tool.Descriptor.Name} ({x.Tool.Label})")
            .ToList();

        underRated.Should().BeEmpty();
    }

    [Test]
    public void Classify_Corpus_EveryVerdictHasEvidenceAndTheLevelOfItsCategoryOrHigher()
    {
        foreach (CorpusTool tool in ClassificationCorpus.Tools)
        {
            RiskProfile profile = ToolRiskClassifier.Default.Classify(tool.Descriptor);
            profile.Evidence.Should().NotBeEmpty(tool.Descriptor.Name);
            profile.Evidence.Should().OnlyContain(e => !string.IsNullOrWhiteSpace(e));
            ((int)profile.Level).Should().BeGreaterThanOrEqualTo((int)RiskProfile.DefaultLevel(profile.Category), tool.Descriptor.Name);
        }
    }
}
