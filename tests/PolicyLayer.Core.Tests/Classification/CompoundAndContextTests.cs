using System.Text.Json;

namespace PolicyLayer.Core.Tests.Classification;

/// <summary>
/// The riskiest verb of a compound name or sentence wins (issue 12, item 11); words count in their
/// context: nouns that look like verbs, money words outside the tool's own effect, links that are
/// removed, server prefixes and REST-shaped names, multi-action tools.
/// </summary>
public class CompoundAndContextTests
{
    private static RiskProfile Classify(string name, string? description = null, string? schema = null, ToolAnnotations? annotations = null) =>
        ToolRiskClassifier.Default.Classify(new ToolDescriptor(name, description, annotations,
            schema is null ? null : JsonDocument.Parse(schema).RootElement.Clone()));

    [TestCase("fetch_and_delete_messages", RiskCategory.Destructive, "delete")]
    [TestCase("search_and_destroy", RiskCategory.Destructive, "destroy")]
    [TestCase("read_then_drop_table", RiskCategory.Destructive, "drop")]
    [TestCase("list_and_execute_jobs", RiskCategory.Execute, "execute")]
    [TestCase("getAndRefundPayment", RiskCategory.Financial, "Refund")]
    [TestCase("get_or_create_label", RiskCategory.Write, "create")]
    public void Classify_CompoundName_TheRiskiestJoinedVerbWins(string name, RiskCategory expected, string verb)
    {
        RiskProfile risk = Classify(name, annotations: new ToolAnnotations { ReadOnlyHint = true });

        risk.Category.Should().Be(expected);
        risk.Category.Should().NotBe(RiskCategory.Read);
        risk.Evidence[0].Should().Contain($"'{verb}'");
    }

    [TestCase("Reads a file and then deletes it.")]
    [TestCase("Stop and remove a container.")]
    [TestCase("Create, update or delete records in a table.")]
    [TestCase("Finds a record and permanently erases it.")]
    public void Classify_SentenceWithAJoinedDestroyingVerb_IsDestructive(string description)
    {
        RiskProfile risk = Classify("file_tool", description);

        risk.Category.Should().Be(RiskCategory.Destructive);
    }

    [Test]
    public void Classify_SentenceNamingStatementsInCapitals_DoesNotReadThemAsActions()
    {
        RiskProfile risk = Classify("write_query", "Execute an INSERT, UPDATE, or DELETE query on the SQLite database",
            """{"type":"object","properties":{"query":{"type":"string"}}}""");

        risk.Category.Should().Be(RiskCategory.Execute);
    }

    [TestCase("Lists pipelines with their stages, tags and status.")]
    [TestCase("Read a page with its blocks and comments.")]
    public void Classify_NounsListedAfterAReadVerb_StayRead(string description)
    {
        Classify("pipeline_info", description).Category.Should().Be(RiskCategory.Read);
    }

    [TestCase("asana_get_tag", RiskCategory.Read)]
    [TestCase("notion_retrieve_block", RiskCategory.Read)]
    [TestCase("pull_request_read", RiskCategory.Read)]
    [TestCase("API-post-search", RiskCategory.Read)]
    [TestCase("API-patch-page", RiskCategory.Write)]
    [TestCase("API-delete-block", RiskCategory.Destructive)]
    [TestCase("digitalocean-droplet-delete", RiskCategory.Destructive)]
    [TestCase("playwright_evaluate", RiskCategory.Execute)]
    public void Classify_PrefixedAndRestShapedNames_FindTheirVerb(string name, RiskCategory expected)
    {
        Classify(name).Category.Should().Be(expected);
    }

    [Test]
    public void Classify_NounLikeVerbInTheName_GivesWayToTheDescription()
    {
        // azure-devops-mcp's repo_pull_request retrieves pull requests; "request" is a noun here.
        RiskProfile risk = Classify("repo_pull_request", "Retrieve pull request data.");

        risk.Category.Should().Be(RiskCategory.Read);
    }

    [TestCase("remove_team_member", "Remove a user from a team.")]
    [TestCase("asana_remove_tag_from_task", "Remove a tag from a task")]
    [TestCase("remove_sub_issue", "Remove a sub-issue from a parent issue.")]
    public void Classify_RemovingALink_IsWrite(string name, string description)
    {
        RiskProfile risk = Classify(name, description);

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Evidence[0].Should().Contain("on a link");
    }

    [TestCase("remove_container", "Remove a Docker container")]
    [TestCase("remove_volume", "Removes the volume from the host.")]
    public void Classify_RemovingAThing_StaysDestructive(string name, string description)
    {
        Classify(name, description).Category.Should().Be(RiskCategory.Destructive);
    }

    [Test]
    public void Classify_MoneyWordOutsideTheOpeningSentence_IsNotFinancial()
    {
        RiskProfile risk = Classify("create_note", "Create a note in the notebook. Notes can hold anything: shopping lists, payments to remember, ideas.");

        risk.Category.Should().Be(RiskCategory.Write);
    }

    [TestCase("send_invoice_reminder")]
    [TestCase("generate_invoice_qr_code")]
    [TestCase("create_payment_link_qr_code")]
    public void Classify_MoneyNounQualifyingAnotherNoun_IsNotFinancial(string name)
    {
        Classify(name).Category.Should().NotBe(RiskCategory.Financial);
    }

    [TestCase("place_stock_order")]
    [TestCase("accept_dispute_claim")]
    [TestCase("create_refund")]
    public void Classify_ChangingVerbOnTheMoneyNounTheNameIsAbout_IsFinancial(string name)
    {
        Classify(name).Category.Should().Be(RiskCategory.Financial);
    }

    [Test]
    public void Classify_JsonPatchOpEnum_IsNotTheToolsAction()
    {
        const string schema = """{"type":"object","properties":{"action":{"enum":["create","update"]},"op":{"enum":["Add","Replace","Remove"]}}}""";

        Classify("wit_work_item_write", "Write operations for work items.", schema).Category.Should().Be(RiskCategory.Write);
    }

    [Test]
    public void Classify_ActionEnumMixingReadsAndDeletes_IsDestructive()
    {
        const string schema = """{"type":"object","properties":{"action":{"enum":["get","list","delete"]}}}""";

        RiskProfile risk = Classify("manage_secrets", "Manage secrets.", schema, new ToolAnnotations { ReadOnlyHint = true });

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Evidence[0].Should().Contain("'delete'");
    }

    [Test]
    public void Classify_CommandGivenToSomethingBeingCreated_IsWrite()
    {
        const string schema = """{"type":"object","properties":{"name":{},"image":{},"command":{}}}""";

        Classify("create_deployment", "Create a new Kubernetes deployment", schema).Category.Should().Be(RiskCategory.Write);
    }

    [TestCase("navigate", "Navigate to a URL", RiskCategory.Read)]
    [TestCase("observe", "Observe actionable elements on the page", RiskCategory.Read)]
    [TestCase("extract", "Extract data from the page", RiskCategory.Read)]
    [TestCase("hover", "Hover over the provided element", RiskCategory.Read)]
    [TestCase("click", "Clicks on the provided element", RiskCategory.Write)]
    [TestCase("type_text", "Type text using keyboard into a previously focused input", RiskCategory.Write)]
    [TestCase("fill_form", "Fill out multiple form elements at once.", RiskCategory.Write)]
    [TestCase("evaluate_script", "Evaluate a JavaScript function inside the page.", RiskCategory.Execute)]
    public void Classify_BrowserAutomation_ObservingReadsAndInteractingWrites(string name, string description, RiskCategory expected)
    {
        Classify(name, description).Category.Should().Be(expected);
    }
    [TestCase("postSearch", "Search pages by title", RiskCategory.Read, "Search")]
    [TestCase("post_search_issues", null, RiskCategory.Read, "search")]
    [TestCase("putUpload", "Upload a file", RiskCategory.Write, "Upload")]
    [TestCase("patch_delete_block", null, RiskCategory.Destructive, "delete")]
    public void Classify_RestShapedNameWithAVerbAfterTheMethod_TheOperationDecides(string name, string? description, RiskCategory expected, string verb)
    {
        RiskProfile risk = Classify(name, description);

        risk.Category.Should().Be(expected);
        risk.Evidence[0].Should().Contain($"'{verb}'");
    }

    [TestCase("patchPage")]
    [TestCase("post_message")]
    public void Classify_RestMethodBeforeANoun_StaysWrite(string name)
    {
        Classify(name).Category.Should().Be(RiskCategory.Write);
    }

    [Test]
    public void Classify_DragAndDrop_IsOneGestureNotADrop()
    {
        RiskProfile risk = Classify("browser_drag", "Perform drag and drop between two elements");

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Evidence.Should().NotContain(e => e.Contains("'drop'"));
        Classify("copy_and_drop_table", "Copy a table and drop the original").Category.Should().Be(RiskCategory.Destructive,
            "a drop not paired with drag still destroys");
    }

    [TestCase("browser_console_messages", "Returns all console messages")]
    [TestCase("network_requests", "Returns all network requests since loading the page")]
    public void Classify_NoNameVerbAndADescriptionThatReturnsSomething_IsRead(string name, string description)
    {
        RiskProfile risk = Classify(name, description);

        risk.Category.Should().Be(RiskCategory.Read);
        risk.Evidence[0].Should().Contain("'Returns'");
    }

    [Test]
    public void Classify_ReturnAsANameVerb_IsNotRead()
    {
        Classify("return_order").Category.Should().NotBe(RiskCategory.Read, "a name's 'return' is a business action");
        Classify("return_items", "Marks the items of an order as returned").Category.Should().Be(RiskCategory.Write);
    }

    [TestCase("add_note", "Add a note about payments and refunds")]
    [TestCase("create_page", "Create a page; use it to track payments")]
    public void Classify_MoneyWordInTheDescriptionOfAToolWithItsOwnObject_IsNotFinancial(string name, string description)
    {
        Classify(name, description).Category.Should().Be(RiskCategory.Write);
    }

    [TestCase("apply_credit", "Apply account credit to a payment")]
    [TestCase("create_transfer", "Move funds to a connected account")]
    [TestCase("make_api_request", "Make a request that issues payments or refunds")]
    [TestCase("transfer", "Transfer money between accounts")]
    public void Classify_MoneyNounInTheNameOrMoneyWordForAToolWithoutAnObject_IsFinancial(string name, string description)
    {
        Classify(name, description).Category.Should().Be(RiskCategory.Financial);
    }
    [TestCase("generate_typescript_types", "Generates TypeScript types for a project", "'typescript'")]
    [TestCase("get_dataset_schema", "Generates a schema from the dataset's items", "'schema'")]
    [TestCase("generate_qr_code", "Generate a QR code for a payment link", "'qr'")]
    public void Classify_GeneratorOfTextThatIsHandedBack_IsRead(string name, string description, string artefact)
    {
        RiskProfile risk = Classify(name, description);

        risk.Category.Should().Be(RiskCategory.Read);
        risk.Evidence.Should().Contain(e => e.Contains(artefact, StringComparison.Ordinal) && e.Contains("hand back"));
    }

    [TestCase("generate_api_key", "Generates a new API key", RiskCategory.Write)]
    [TestCase("generate_invoice", "Generate an invoice for the customer", RiskCategory.Financial)]
    public void Classify_GeneratorOfSomethingStored_StillChangesThings(string name, string description, RiskCategory expected)
    {
        Classify(name, description).Category.Should().Be(expected);
    }
}
