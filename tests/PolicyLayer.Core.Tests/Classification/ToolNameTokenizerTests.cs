namespace PolicyLayer.Core.Tests.Classification;

public class ToolNameTokenizerTests
{
    private static string[] Words(string text)
    {
        Span<Range> ranges = stackalloc Range[ToolNameTokenizer.MaxWords];
        int count = ToolNameTokenizer.Tokenize(text, ranges);
        var words = new string[count];
        for (int i = 0; i < count; i++)
        {
            words[i] = text[ranges[i]];
        }

        return words;
    }

    [TestCase("add_execution_labels")]
    [TestCase("addExecutionLabels")]
    [TestCase("AddExecutionLabels")]
    [TestCase("add-execution-labels")]
    [TestCase("add.execution.labels")]
    [TestCase("add execution labels")]
    [TestCase("  add__execution--labels  ")]
    public void Tokenize_EveryCaseStyle_GivesTheSameWords(string name)
    {
        Words(name).Select(w => w.ToLowerInvariant()).Should().Equal("add", "execution", "labels");
    }

    [Test]
    public void Tokenize_Acronyms_SplitBeforeTheNextWord()
    {
        Words("getHTTPServerStatus").Should().Equal("get", "HTTP", "Server", "Status");
    }

    [Test]
    public void Tokenize_Digits_AreTheirOwnWords()
    {
        Words("s3_put_object2").Should().Equal("s", "3", "put", "object", "2");
    }

    [Test]
    public void Tokenize_Apostrophe_KeepsContractionsWhole()
    {
        Words("This can't be undone").Should().Equal("This", "can't", "be", "undone");
    }

    [Test]
    public void Tokenize_MoreWordsThanRoom_StopsAtTheLimit()
    {
        Span<Range> ranges = stackalloc Range[2];
        ToolNameTokenizer.Tokenize("a_b_c_d", ranges).Should().Be(2);
    }
}
