using System.Buffers;
using System.Text.Json;
using FrozenSetLookup = System.Collections.Frozen.FrozenSet<string>.AlternateLookup<System.ReadOnlySpan<char>>;

namespace PolicyLayer;

/// <summary>Where a reading came from.</summary>
internal enum SignalSource : byte
{
    /// <summary>A hint the server set in the tool's annotations.</summary>
    Annotation,

    /// <summary>A verb in the tool's name.</summary>
    Name,

    /// <summary>The tool's description: its opening verb or a phrase.</summary>
    Description,

    /// <summary>The tool's input schema: a property or an action enum.</summary>
    Schema,

    /// <summary>Money things combined with a changing action.</summary>
    Financial,
}

/// <summary>
/// One signal's reading of a tool: a category, a level, and what it saw. A weak reading (a name
/// verb that is as often a noun) counts only when no verb, phrase or schema says anything else.
/// </summary>
internal readonly record struct RiskReading(RiskCategory Category, RiskLevel Level, SignalSource Source, string Text, bool Weak = false);

/// <summary>The rules of <see cref="ToolRiskClassifier.Default"/>.</summary>
internal static class RiskRules
{
    private const int DescriptionVerbWindow = 6;

    private static readonly SearchValues<string> SqlContext =
        SearchValues.Create(["sql", "database", "ddl", "postgres"], StringComparison.OrdinalIgnoreCase);

    private static readonly SearchValues<string> MoneyWords =
        SearchValues.Create(["refund", "payout", "payment", "money"], StringComparison.OrdinalIgnoreCase);

    private static readonly SearchValues<string> DestructivePhrases =
        SearchValues.Create(RiskVocabulary.DestructivePhrases, StringComparison.OrdinalIgnoreCase);

    public static RiskProfile Classify(ToolDescriptor tool)
    {
        var readings = new List<RiskReading>(6);
        string name = tool.Name;
        string description = tool.Description ?? string.Empty;

        Span<Range> nameWords = stackalloc Range[ToolNameTokenizer.MaxWords];
        nameWords = nameWords[..ToolNameTokenizer.Tokenize(name, nameWords)];

        // Annotations: untrusted hints, one reading among several.
        Hints hints = ReadAnnotations(tool.Annotations, readings);

        // The name's verb, and every verb joined to it (fetch_and_delete_messages): the riskiest wins.
        bool relation = AnyIn(name, nameWords, RiskVocabulary.RelationNouns);
        WordKind? nameVerb = FindVerb(name, nameWords, out Range nameVerbRange, out bool weakNameVerb);
        if (nameVerb is { } nameKind)
        {
            string verb = name[nameVerbRange];
            readings.Add(GeneratesText(verb, name, nameWords) is { } artefact
                ? new RiskReading(RiskCategory.Read, RiskLevel.Low, SignalSource.Name, $"the name verb '{verb}' makes {artefact} to hand back: Read")
                : Unlinking(nameKind, verb, relation) is { } unlink
                ? unlink with { Source = SignalSource.Name, Text = $"the name verb '{verb}' on a link ({unlink.Text})", Weak = weakNameVerb }
                : VerbReading(nameKind, SignalSource.Name, $"the name verb '{verb}'") with { Weak = weakNameVerb });
        }

        AddJoinedVerbs(name, nameWords, SignalSource.Name, "the name", relation, readings);

        // The description's opening verb, the verbs joined to it, and its phrases.
        WordKind? descriptionVerb = FindDescriptionVerb(description, out string? descriptionVerbText, out ReadOnlySpan<char> sentence);
        bool sentenceRelation = relation || SentenceSpeaksOfALink(sentence);
        Span<Range> sentenceWords = stackalloc Range[ToolNameTokenizer.MaxWords];
        sentenceWords = sentenceWords[..ToolNameTokenizer.Tokenize(sentence, sentenceWords)];
        if (descriptionVerb is { } descriptionKind)
        {
            readings.Add(GeneratesText(descriptionVerbText!, sentence, sentenceWords) is { } artefact
                ? new RiskReading(RiskCategory.Read, RiskLevel.Low, SignalSource.Description, $"the description's verb '{descriptionVerbText}' makes {artefact} to hand back: Read")
                : Unlinking(descriptionKind, descriptionVerbText!, sentenceRelation) is { } unlink
                ? unlink with { Source = SignalSource.Description, Text = $"the description's verb '{descriptionVerbText}' on a link ({unlink.Text})" }
                : VerbReading(descriptionKind, SignalSource.Description, $"the description's verb '{descriptionVerbText}'"));
        }

        if (!sentence.IsEmpty)
        {
            AddJoinedVerbs(sentence, sentenceWords, SignalSource.Description, "the description", sentenceRelation, readings);
        }

        if (description.Length > 0)
        {
            int phrase = description.AsSpan().IndexOfAny(DestructivePhrases);
            if (phrase >= 0)
            {
                readings.Add(new RiskReading(RiskCategory.Destructive, RiskLevel.Critical, SignalSource.Description,
                    $"the description says '{PhraseAt(description, phrase)}': Destructive"));
            }
        }

        // The input schema: free-form code, money properties, action enums.
        var schema = new SchemaFindings();
        if (tool.InputSchema is { ValueKind: JsonValueKind.Object } inputSchema
            && inputSchema.TryGetProperty("properties", out JsonElement properties)
            && properties.ValueKind == JsonValueKind.Object)
        {
            ReadSchema(properties, relation, ref schema);
        }

        // A command given to something being created or changed (a deployment's container command)
        // runs later, under that thing: the tool itself writes.
        bool nameWrites = nameVerb == WordKind.WriteVerb && !weakNameVerb;
        if (schema.CodeProperty is not null && !nameWrites)
        {
            readings.Add(new RiskReading(RiskCategory.Execute, RiskLevel.Critical, SignalSource.Schema,
                $"the input property '{schema.CodeProperty}' takes free-form code, commands or SQL: Execute, raised to Critical"));
        }
        else if (schema.QueryProperty is not null && MentionsSql(name, description))
        {
            readings.Add(new RiskReading(RiskCategory.Execute, RiskLevel.Critical, SignalSource.Schema,
                $"the input property '{schema.QueryProperty}' takes a query and the tool speaks of SQL or a database: free-form SQL is Execute, raised to Critical"));
        }

        if (schema.Action is { } action)
        {
            readings.Add(action);
        }

        bool nameVerbReads = nameVerb == WordKind.ReadVerb;
        if (schema.FreeFormActionProperty is not null && !nameVerbReads && schema.Action is null)
        {
            readings.Add(new RiskReading(RiskCategory.Write, RiskLevel.Medium, SignalSource.Schema,
                $"the free-form '{schema.FreeFormActionProperty}' property lets the caller pick any action: at least Write"));
        }

        // Money: a changing action on money things moves money or changes billing.
        AddFinancialReading(readings, name, nameWords, description, schema.FinancialProperty);

        return Decide(readings, hints);
    }

    /// <summary>What the annotations claim, before the other signals weigh them.</summary>
    private readonly record struct Hints(bool Present, bool ReadOnly, bool? Destructive, bool SdkDefaults, string Extra)
    {
        public bool ClaimsDestructive => Present && !ReadOnly && Destructive == true;

        /// <summary>An annotations object that says the tool changes things but not how (destructiveHint false or absent).</summary>
        public bool ClaimsChange => Present && !ReadOnly && Destructive != true;
    }

    private static Hints ReadAnnotations(ToolAnnotations? annotations, List<RiskReading> readings)
    {
        // No annotations object: no evidence either way. MCP's defaults apply only to hints
        // missing from an annotations object the server did send.
        if (annotations is null)
        {
            return default;
        }

        string extra = ExtraHints(annotations);
        if (annotations.ReadOnlyHint == true)
        {
            // destructiveHint means something only when readOnlyHint is false.
            readings.Add(new RiskReading(RiskCategory.Read, RiskLevel.Low, SignalSource.Annotation, "readOnlyHint=true claims Read" + extra));
            return new Hints(true, true, annotations.DestructiveHint, false, extra);
        }

        // mcp-go fills every hint of a new tool with MCP's defaults; all four at those values is
        // what a library wrote, not what the author claimed.
        bool sdkDefaults = annotations is { ReadOnlyHint: false, DestructiveHint: true, IdempotentHint: false, OpenWorldHint: true };
        return new Hints(true, false, annotations.DestructiveHint, sdkDefaults, extra);
    }

    private static string ExtraHints(ToolAnnotations annotations) => (annotations.IdempotentHint, annotations.OpenWorldHint) switch
    {
        (null, null) => string.Empty,
        ({ } idempotent, null) => $" (idempotentHint={Lower(idempotent)})",
        (null, { } openWorld) => $" (openWorldHint={Lower(openWorld)})",
        ({ } idempotent, { } openWorld) => $" (idempotentHint={Lower(idempotent)}, openWorldHint={Lower(openWorld)})",
    };

    private static string Lower(bool value) => value ? "true" : "false";

    /// <summary>
    /// The verb of a name: its first word when that is a verb (<c>delete_flow</c>); else the first
    /// verb after it that is not as often a noun (<c>asana_get_tag</c>, <c>pull_request_read</c>,
    /// <c>API-post-search</c>); else, as a weak reading, its last word or any verb
    /// (<c>repo_pull_request</c>). "start", "resume" and the like run something only when the name
    /// also has a runnable noun (<c>start_process</c>); otherwise they are a weak Write.
    /// </summary>
    internal static WordKind? FindVerb(ReadOnlySpan<char> text, ReadOnlySpan<Range> words, out Range verb, out bool weak)
    {
        verb = default;
        weak = false;
        if (words.IsEmpty)
        {
            return null;
        }

        bool runnable = AnyIn(text, words, RiskVocabulary.RunnableNouns);
        int contextual = -1;
        int nounLike = -1;
        for (int index = 0; index < words.Length; index++)
        {
            if (!RiskVocabulary.VerbLookup.TryGetValue(text[words[index]], out WordKind kind))
            {
                continue;
            }

            if (kind == WordKind.ContextExecuteVerb)
            {
                if (runnable)
                {
                    verb = words[index];
                    return WordKind.ExecuteVerb;
                }

                contextual = contextual < 0 ? index : contextual;
                continue;
            }

            // REST-shaped names: the HTTP method gives way to the operation after it (postSearch).
            if (RiskVocabulary.HttpMethodVerbs.Contains(text[words[index]]) && index + 1 < words.Length
                && RiskVocabulary.VerbLookup.TryGetValue(text[words[index + 1]], out WordKind next)
                && next != WordKind.ContextExecuteVerb && !RiskVocabulary.NounLikeVerbs.Contains(text[words[index + 1]]))
            {
                continue;
            }

            if (index > 0 && RiskVocabulary.NounLikeVerbs.Contains(text[words[index]]))
            {
                // Prefer the last noun-like verb: repo_pull_request, pipelines_run.
                nounLike = index;
                continue;
            }

            verb = words[index];
            return kind;
        }

        weak = true;
        if (nounLike >= 0)
        {
            verb = words[nounLike];
            return RiskVocabulary.VerbLookup[text[words[nounLike]]];
        }

        if (contextual >= 0)
        {
            verb = words[contextual];
            return WordKind.WriteVerb;
        }

        weak = false;
        return null;
    }

    /// <summary>
    /// Verbs joined to another by "and", "then", "or" or a comma (<c>fetch_and_delete_messages</c>,
    /// "Reads a file and then deletes it", "Create, update or delete records"): each is a reading of
    /// its own, so that the riskiest verb of a compound wins.
    /// </summary>
    private static void AddJoinedVerbs(ReadOnlySpan<char> text, ReadOnlySpan<Range> words, SignalSource source, string where, bool relation, List<RiskReading> readings)
    {
        bool prose = source == SignalSource.Description;
        bool thirdPerson = prose && words.Length > 0 && OpeningVerbIsThirdPerson(text, words);
        for (int i = 1; i < words.Length; i++)
        {
            ReadOnlySpan<char> previous = text[words[i - 1]];
            bool joined = RiskVocabulary.Conjunctions.Contains(previous)
                || (prose && text[words[i - 1].End..words[i].Start].Contains(','));
            if (!joined)
            {
                continue;
            }

            // "and then deletes", "and dynamically invokes": skip a second conjunction or an adverb.
            int at = i;
            while (at < words.Length - 1 && (RiskVocabulary.Conjunctions.Contains(text[words[at]]) || text[words[at]].EndsWith("ly", StringComparison.OrdinalIgnoreCase)))
            {
                at++;
            }

            ReadOnlySpan<char> word = text[words[at]];
            if (i >= 2 && RiskVocabulary.FixedPairLookup.TryGetValue(text[words[i - 2]], out string? pair)
                && word.Equals(pair, StringComparison.OrdinalIgnoreCase))
            {
                // "drag and drop" is one gesture, not a drop.
                continue;
            }

            if ((prose && RiskVocabulary.NounLikeVerbs.Contains(word)) || !TryVerbWithInflection(word, out WordKind kind)
                || kind is WordKind.ReadVerb or WordKind.ContextExecuteVerb)
            {
                continue;
            }

            // In prose only a verb of the opening verb's form that destroys, runs or moves money
            // counts: "Reads a file and then deletes it", "Create, update or delete records";
            // "an INSERT, UPDATE, or DELETE query" names statements, not actions.
            if (prose && (kind == WordKind.WriteVerb || IsAllCaps(word) || EndsWithS(word) != thirdPerson))
            {
                continue;
            }

            string verb = word.ToString();
            readings.Add(Unlinking(kind, verb, relation) is { } unlink
                ? unlink with { Source = source, Text = $"{where}'s joined verb '{verb}' on a link ({unlink.Text})" }
                : VerbReading(kind, source, $"{where}'s joined verb '{verb}'"));
        }
    }

    private static bool OpeningVerbIsThirdPerson(ReadOnlySpan<char> text, ReadOnlySpan<Range> words)
    {
        foreach (Range range in words)
        {
            ReadOnlySpan<char> word = text[range];
            if (RiskVocabulary.LeadingFillers.Contains(word))
            {
                continue;
            }

            return EndsWithS(word);
        }

        return false;
    }

    private static bool EndsWithS(ReadOnlySpan<char> word) => word.Length > 3 && (word[^1] == 's' || word[^1] == 'S');

    private static bool IsAllCaps(ReadOnlySpan<char> word) => word.Length > 1 && !word.ContainsAnyInRange('a', 'z');

    /// <summary>
    /// "generate" of text that is handed back (<c>generate_typescript_types</c>, "Generates a JSON
    /// schema from the items"): a generator of types, code, a schema or a diagram reads; the
    /// artefact named, else <see langword="null"/>. <c>generate_api_key</c> and <c>generate_invoice</c> still write.
    /// </summary>
    private static string? GeneratesText(string verb, ReadOnlySpan<char> text, ReadOnlySpan<Range> words)
    {
        if (!verb.StartsWith("generate", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        foreach (Range word in words)
        {
            if (RiskVocabulary.TextArtefacts.Contains(text[word]))
            {
                return $"'{text[word]}'";
            }
        }

        return null;
    }

    /// <summary>"remove" of a member, a tag, a dependency, or of something "from" another: it unlinks, the thing stays.</summary>
    private static RiskReading? Unlinking(WordKind kind, string verb, bool relation) =>
        kind == WordKind.DestructiveVerb && relation
            && (verb.StartsWith("remove", StringComparison.OrdinalIgnoreCase) || verb.StartsWith("revoke", StringComparison.OrdinalIgnoreCase))
            ? new RiskReading(RiskCategory.Write, RiskLevel.Medium, SignalSource.Name, "removing a link or membership leaves both things in place: Write")
            : null;

    private static bool SentenceSpeaksOfALink(ReadOnlySpan<char> sentence)
    {
        Span<Range> words = stackalloc Range[ToolNameTokenizer.MaxWords];
        int count = ToolNameTokenizer.Tokenize(sentence, words);
        foreach (Range word in words[..count])
        {
            // "from" alone is not enough in prose: "removes the file from disk" destroys it.
            if (RiskVocabulary.RelationNouns.Contains(sentence[word]) && !sentence[word].Equals("from", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The verb a description opens with, after fillers such as "This tool will".</summary>
    private static WordKind? FindDescriptionVerb(string description, out string? verbText, out ReadOnlySpan<char> sentence)
    {
        verbText = null;
        sentence = default;
        if (description.Length == 0)
        {
            return null;
        }

        ReadOnlySpan<char> text = description.AsSpan().TrimStart();
        int sentenceEnd = text.IndexOfAny('.', '\n', ':');
        if (sentenceEnd < 0)
        {
            sentenceEnd = text.Length;
        }

        sentence = text[..sentenceEnd];
        Span<Range> words = stackalloc Range[ToolNameTokenizer.MaxWords];
        int count = ToolNameTokenizer.Tokenize(sentence, words);
        words = words[..count];
        bool runnable = AnyIn(sentence, words, RiskVocabulary.RunnableNouns);

        int seen = 0;
        int weak = -1;
        for (int i = 0; i < words.Length && seen < DescriptionVerbWindow; i++)
        {
            ReadOnlySpan<char> word = sentence[words[i]];
            if (seen == 0 && RiskVocabulary.LeadingFillers.Contains(word))
            {
                continue;
            }

            seen++;
            if (seen == 1 && RiskVocabulary.DescriptionReadVerbs.Contains(word))
            {
                verbText = word.ToString();
                return WordKind.ReadVerb;
            }

            if (!TryVerbWithInflection(word, out WordKind kind))
            {
                continue;
            }

            if (kind == WordKind.ContextExecuteVerb)
            {
                if (runnable)
                {
                    verbText = word.ToString();
                    return WordKind.ExecuteVerb;
                }

                weak = weak < 0 ? i : weak;
                continue;
            }

            verbText = word.ToString();
            return kind;
        }

        if (weak >= 0)
        {
            verbText = sentence[words[weak]].ToString();
            return WordKind.WriteVerb;
        }

        return null;
    }

    /// <summary>Looks a word up as is, then without a third-person "s" or "es" ("Lists", "Fetches").</summary>
    private static bool TryVerbWithInflection(ReadOnlySpan<char> word, out WordKind kind)
    {
        var lookup = RiskVocabulary.VerbLookup;
        if (lookup.TryGetValue(word, out kind))
        {
            return true;
        }

        if (word.Length > 3 && (word[^1] == 's' || word[^1] == 'S'))
        {
            if (lookup.TryGetValue(word[..^1], out kind))
            {
                return true;
            }

            if (word.Length > 4 && (word[^2] == 'e' || word[^2] == 'E') && lookup.TryGetValue(word[..^2], out kind))
            {
                return true;
            }
        }

        kind = default;
        return false;
    }

    private static RiskReading VerbReading(WordKind kind, SignalSource source, string what) => kind switch
        {
            WordKind.ReadVerb => new RiskReading(RiskCategory.Read, RiskLevel.Low, source, what + " says Read"),
            WordKind.WriteVerb => new RiskReading(RiskCategory.Write, RiskLevel.Medium, source, what + " says Write"),
            WordKind.ExecuteVerb => new RiskReading(RiskCategory.Execute, RiskLevel.High, source, what + " says Execute"),
            WordKind.DestructiveVerb => new RiskReading(RiskCategory.Destructive, RiskLevel.Critical, source, what + " says Destructive"),
            WordKind.FinancialVerb => new RiskReading(RiskCategory.Financial, RiskLevel.Critical, source, what + " moves money: Financial"),
            _ => new RiskReading(RiskCategory.Execute, RiskLevel.High, source, what + " with a runnable object says Execute"),
        };

    private struct SchemaFindings
    {
        public string? CodeProperty;
        public string? QueryProperty;
        public string? FinancialProperty;
        public string? FreeFormActionProperty;
        public RiskReading? Action;
    }

    private static void ReadSchema(JsonElement properties, bool relation, ref SchemaFindings findings)
    {
        Span<Range> words = stackalloc Range[ToolNameTokenizer.MaxWords];
        foreach (JsonProperty property in properties.EnumerateObject())
        {
            string propertyName = property.Name;
            int count = ToolNameTokenizer.Tokenize(propertyName, words);
            ReadOnlySpan<Range> propertyWords = words[..count];

            if (findings.CodeProperty is null && TakesCode(propertyName, propertyWords))
            {
                findings.CodeProperty = propertyName;
            }

            if (findings.QueryProperty is null && propertyName.Equals("query", StringComparison.OrdinalIgnoreCase))
            {
                findings.QueryProperty = propertyName;
            }

            if (findings.FinancialProperty is null && AnyIn(propertyName, propertyWords, RiskVocabulary.FinancialPropertyWords))
            {
                findings.FinancialProperty = propertyName;
            }

            if (RiskVocabulary.ActionProperties.Contains(propertyName))
            {
                if (property.Value.ValueKind == JsonValueKind.Object
                    && property.Value.TryGetProperty("enum", out JsonElement values)
                    && values.ValueKind == JsonValueKind.Array)
                {
                    RiskReading? action = ReadActionEnum(propertyName, values, relation);
                    if (action is { } reading && (findings.Action is not { } current || Riskier(reading, current)))
                    {
                        findings.Action = reading;
                    }
                }
                else
                {
                    findings.FreeFormActionProperty ??= propertyName;
                }
            }
        }
    }

    /// <summary>An <c>op</c> whose values are JSON Patch's (add, remove, replace, ...) edits a document: it is not the tool's action.</summary>
    private static bool IsJsonPatchOp(string propertyName, JsonElement values)
    {
        if (!propertyName.Equals("op", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (JsonElement value in values.EnumerateArray())
        {
            if (value.ValueKind != JsonValueKind.String || !RiskVocabulary.JsonPatchOperations.Contains(value.GetString()!))
            {
                return false;
            }
        }

        return true;
    }

    private static readonly FrozenSetLookup SqlWords =
        System.Collections.Frozen.FrozenSet.ToFrozenSet(["sql"], StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    private static bool SqlCarrier(ReadOnlySpan<char> lastWord) =>
        lastWord.Equals("sql", StringComparison.OrdinalIgnoreCase)
        || lastWord.Equals("statement", StringComparison.OrdinalIgnoreCase)
        || lastWord.Equals("statements", StringComparison.OrdinalIgnoreCase)
        || lastWord.Equals("query", StringComparison.OrdinalIgnoreCase)
        || lastWord.Equals("queries", StringComparison.OrdinalIgnoreCase);

    private static bool TakesCode(string propertyName, ReadOnlySpan<Range> words)
    {
        if (RiskVocabulary.CodeProperties.Contains(propertyName))
        {
            return true;
        }

        // python_code, jsCode, bash_script, source_code; migrationSql, sqlStatements.
        if (words.Length >= 2)
        {
            if (AnyIn(propertyName, words, SqlWords) && SqlCarrier(propertyName.AsSpan()[words[^1]]))
            {
                return true;
            }

            ReadOnlySpan<char> lastWord = propertyName.AsSpan()[words[^1]];
            ReadOnlySpan<char> qualifier = propertyName.AsSpan()[words[^2]];
            bool codeNoun = lastWord.Equals("code", StringComparison.OrdinalIgnoreCase)
                || lastWord.Equals("script", StringComparison.OrdinalIgnoreCase)
                || lastWord.Equals("command", StringComparison.OrdinalIgnoreCase)
                || lastWord.Equals("sql", StringComparison.OrdinalIgnoreCase);
            return codeNoun && (RiskVocabulary.Languages.Contains(qualifier)
                || qualifier.Equals("source", StringComparison.OrdinalIgnoreCase)
                || qualifier.Equals("shell", StringComparison.OrdinalIgnoreCase)
                || qualifier.Equals("raw", StringComparison.OrdinalIgnoreCase));
        }

        return false;
    }

    /// <summary>A multi-action tool is as risky as its most dangerous action.</summary>
    private static RiskReading? ReadActionEnum(string propertyName, JsonElement values, bool relation)
    {
        if (IsJsonPatchOp(propertyName, values))
        {
            return null;
        }

        Span<Range> words = stackalloc Range[ToolNameTokenizer.MaxWords];
        RiskReading? worst = null;
        foreach (JsonElement value in values.EnumerateArray())
        {
            if (value.ValueKind != JsonValueKind.String)
            {
                continue;
            }

            string action = value.GetString()!;
            int count = ToolNameTokenizer.Tokenize(action, words);
            WordKind? kind = FindVerb(action, words[..count], out Range verbRange, out _);
            if (kind is null)
            {
                continue;
            }

            bool unlinks = relation || AnyIn(action, words[..count], RiskVocabulary.RelationNouns);
            RiskReading reading = Unlinking(kind.Value, action[verbRange], unlinks) is { } unlink
                ? unlink with { Source = SignalSource.Schema, Text = $"the '{propertyName}' enum's action '{action}' on a link ({unlink.Text})" }
                : VerbReading(kind.Value, SignalSource.Schema, $"the '{propertyName}' enum's most dangerous action '{action}'");
            if (worst is not { } current || Riskier(reading, current))
            {
                worst = reading;
            }
        }

        return worst;
    }

    private static void AddFinancialReading(List<RiskReading> readings, string name, ReadOnlySpan<Range> nameWords, string description, string? financialProperty)
    {
        if (readings.Exists(static r => r.Category == RiskCategory.Financial))
        {
            return;
        }

        // A money word in the description counts only when the name has no object of its own:
        // "payments" in the description of add_note is what the note may be about, not what it does.
        string? cue = FinancialNoun(name, nameWords) is { } noun ? $"the name noun '{noun}'"
            : financialProperty is not null ? $"the input property '{financialProperty}'"
            : !NamesAnObject(name, nameWords) && FirstSentence(description).IndexOfAny(MoneyWords) is var at and >= 0
                ? $"the description's '{WordAt(description, description.Length - description.AsSpan().TrimStart().Length + at)}'"
            : null;
        if (cue is null)
        {
            return;
        }

        // The changing action: the strongest non-Read reading from a verb, a phrase or the schema.
        RiskReading? change = null;
        foreach (RiskReading reading in readings)
        {
            if (reading.Source != SignalSource.Annotation && reading.Category != RiskCategory.Read
                && (change is not { } current || Riskier(reading, current)))
            {
                change = reading;
            }
        }

        if (change is { } changing)
        {
            readings.Add(new RiskReading(RiskCategory.Financial, RiskLevel.Critical, SignalSource.Financial,
                $"{cue} with a changing action ({changing.Text}) says Financial"));
        }
    }

    /// <summary>
    /// Whether the name has a noun of its own that is not about money (<c>add_note</c>,
    /// <c>create_page</c>); <c>transfer</c>, <c>make_api_request</c> and <c>execute_v2</c> have none.
    /// </summary>
    private static bool NamesAnObject(string name, ReadOnlySpan<Range> words)
    {
        foreach (Range range in words)
        {
            ReadOnlySpan<char> word = name.AsSpan()[range];
            if (word.Length > 2 && !char.IsDigit(word[0]) && !RiskVocabulary.VerbLookup.ContainsKey(word)
                && !RiskVocabulary.NameTailWords.Contains(word) && !RiskVocabulary.FinancialNouns.Contains(word)
                && !RiskVocabulary.LeadingFillers.Contains(word) && !GenericObjects.Contains(word))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Nouns too general to say what a tool is about: <c>make_api_request</c>, <c>call_endpoint</c>.</summary>
    private static readonly FrozenSetLookup GenericObjects =
        System.Collections.Frozen.FrozenSet.ToFrozenSet(
            ["api", "apis", "request", "requests", "endpoint", "endpoints", "operation", "operations", "action", "actions", "tool", "tools", "method", "methods"],
            StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    private static string? FinancialNoun(string name, ReadOnlySpan<Range> words)
    {
        for (int i = 0; i < words.Length; i++)
        {
            ReadOnlySpan<char> word = name.AsSpan()[words[i]];
            if (!RiskVocabulary.FinancialNouns.Contains(word))
            {
                continue;
            }

            // "invoice_reminder", "payment_link_qr_code": the money noun qualifies another noun, which
            // is what the name is about.
            if (!IsHeadNoun(name, words, i))
            {
                continue;
            }

            // "notification_subscription": a subscription that another noun qualifies is not billing.
            if (i > 0 && RiskVocabulary.QualifiableFinancialNouns.Contains(word))
            {
                ReadOnlySpan<char> previous = name.AsSpan()[words[i - 1]];
                if (!RiskVocabulary.VerbLookup.ContainsKey(previous) && !RiskVocabulary.FinancialNouns.Contains(previous))
                {
                    continue;
                }
            }

            return word.ToString();
        }

        return null;
    }

    /// <summary>
    /// The description's first sentence, which says what the tool does; money words later on
    /// ("... the order's payments are listed on another tab") are context, not the tool's effect.
    /// </summary>
    private static ReadOnlySpan<char> FirstSentence(string description)
    {
        ReadOnlySpan<char> text = description.AsSpan().TrimStart();
        int end = text.IndexOfAny('.', '\n');
        return end < 0 ? text : text[..end];
    }

    private static bool IsHeadNoun(string name, ReadOnlySpan<Range> words, int index)
    {
        for (int j = index + 1; j < words.Length; j++)
        {
            ReadOnlySpan<char> later = name.AsSpan()[words[j]];
            if (!RiskVocabulary.NameTailWords.Contains(later) && !RiskVocabulary.FinancialNouns.Contains(later)
                && !RiskVocabulary.VerbLookup.ContainsKey(later) && !char.IsDigit(later[0]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool MentionsSql(string name, string description) =>
        name.AsSpan().ContainsAny(SqlContext) || description.AsSpan().ContainsAny(SqlContext);

    private static bool AnyIn(ReadOnlySpan<char> text, ReadOnlySpan<Range> words, FrozenSetLookup set)
    {
        foreach (Range word in words)
        {
            if (set.Contains(text[word]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Riskier(RiskReading candidate, RiskReading current) =>
        candidate.Level > current.Level || (candidate.Level == current.Level && candidate.Category > current.Category);

    private static string PhraseAt(string text, int index)
    {
        foreach (string phrase in RiskVocabulary.DestructivePhrases)
        {
            if (text.AsSpan(index).StartsWith(phrase, StringComparison.OrdinalIgnoreCase))
            {
                return text.Substring(index, phrase.Length);
            }
        }

        return WordAt(text, index);
    }

    private static string WordAt(string text, int index)
    {
        int end = index;
        while (end < text.Length && char.IsLetter(text[end]))
        {
            end++;
        }

        return text[index..end];
    }

    private static RiskProfile Decide(List<RiskReading> readings, Hints hints)
    {
        // A verb that is as often a noun counts only when nothing else in the content speaks.
        if (readings.Exists(static r => r.Source != SignalSource.Annotation && !r.Weak))
        {
            readings.RemoveAll(static r => r.Weak);
        }

        // A noun-like read verb alone (prepare_query_tuning) is too little to call a tool harmless.
        if (readings.Count == 1 && readings[0] is { Weak: true, Category: RiskCategory.Read } weakRead)
        {
            readings[0] = weakRead with
            {
                Category = RiskCategory.Write,
                Level = RiskLevel.Medium,
                Text = weakRead.Text.Replace(" says Read", string.Empty, StringComparison.Ordinal) + " is as often a noun, and nothing else says the tool only reads: treated as Write",
            };
        }

        bool contentSpoke = readings.Exists(static r => r.Source != SignalSource.Annotation);
        bool contentDangerous = readings.Exists(static r => r.Source != SignalSource.Annotation
            && r.Category is RiskCategory.Destructive or RiskCategory.Execute or RiskCategory.Financial);
        bool contentChanges = readings.Exists(static r => r.Source != SignalSource.Annotation && r.Category != RiskCategory.Read);
        var notes = new List<string>(2);
        bool raiseWriteToHigh = false;

        if (hints.ClaimsDestructive)
        {
            string said = "destructiveHint=true" + hints.Extra;
            if (hints.SdkDefaults)
            {
                said += " (all four hints at the values mcp-go fills in by default, so a library's default, not a claim)";
            }

            if (contentDangerous)
            {
                // With a verb that destroys, runs or moves money, the hint agrees (or raises Execute to Critical).
                readings.Add(new RiskReading(RiskCategory.Destructive, RiskLevel.Critical, SignalSource.Annotation, said + " says Destructive"));
            }
            else if (contentChanges)
            {
                // MCP's destructiveHint means "may perform non-additive updates": overwriting a field
                // is one. The verbs say what kind of change; the hint raises an ordinary one to High.
                raiseWriteToHigh = !hints.SdkDefaults;
                notes.Add(hints.SdkDefaults
                    ? said + " gives way to the verbs"
                    : said + " means, in MCP, that the tool may overwrite data, not that data is lost for good: the verbs say an ordinary change, so Write, raised to High");
            }
            else if (contentSpoke)
            {
                if (hints.SdkDefaults)
                {
                    notes.Add(said + " gives way to the verbs");
                }
                else
                {
                    readings.Add(new RiskReading(RiskCategory.Write, RiskLevel.Medium, SignalSource.Annotation,
                        said + " says the tool changes something, though its verbs only read: Write"));
                }
            }
            else
            {
                readings.Add(hints.SdkDefaults
                    ? new RiskReading(RiskCategory.Write, RiskLevel.Medium, SignalSource.Annotation, said + " and no verb, phrase or schema: the tool changes something, treated as Write")
                    : new RiskReading(RiskCategory.Destructive, RiskLevel.Critical, SignalSource.Annotation, said + " and no verb, phrase or schema says otherwise: the server's claim decides, Destructive"));
            }
        }
        else if (hints.ClaimsChange)
        {
            string said = (hints.Destructive == false ? "readOnlyHint=false and destructiveHint=false" : "readOnlyHint false or absent, destructiveHint absent") + hints.Extra;
            if (contentSpoke)
            {
                notes.Add(said + ": a claim that the tool may change things, which the verbs, phrases and schema decide");
            }
            else
            {
                readings.Add(new RiskReading(RiskCategory.Write, RiskLevel.Medium, SignalSource.Annotation,
                    said + " and no verb, phrase or schema: the tool changes something, treated as Write"));
            }
        }

        if (readings.Count == 0)
        {
            return new RiskProfile(RiskCategory.Write, RiskLevel.Medium,
                ["no annotation, verb, phrase or schema signal: an unknown tool is treated as Write"]);
        }

        RiskReading winner = readings[0];
        foreach (RiskReading reading in readings)
        {
            if (Riskier(reading, winner))
            {
                winner = reading;
            }
        }

        var evidence = new List<string>(readings.Count + notes.Count + 1);
        RiskLevel level = winner.Level;

        // A destructiveHint on a tool that runs code describes what the code may do: Execute stays
        // the category (it names the open-ended effect) and the hint raises it to Critical.
        if (winner.Category == RiskCategory.Destructive
            && readings.TrueForAll(static r => r.Category != RiskCategory.Destructive || r.Source == SignalSource.Annotation)
            && readings.Find(static r => r.Category == RiskCategory.Execute) is { Text: not null } execute)
        {
            winner = execute;
            level = RiskLevel.Critical;
            evidence.Add(execute.Text);
            evidence.Add("destructiveHint=true says running it may destroy data: Execute is raised to Critical");
        }
        else
        {
            evidence.Add(winner.Text);
            if (raiseWriteToHigh && winner.Category == RiskCategory.Write && level < RiskLevel.High)
            {
                level = RiskLevel.High;
            }
        }

        foreach (RiskReading reading in readings)
        {
            if (reading.Text == winner.Text || evidence.Contains(reading.Text))
            {
                continue;
            }

            if (reading.Category == winner.Category)
            {
                evidence.Add(reading.Text);
            }
        }

        foreach (RiskReading reading in readings)
        {
            if (reading.Category == winner.Category || (reading.Category == RiskCategory.Destructive && reading.Source == SignalSource.Annotation && winner.Category == RiskCategory.Execute && level == RiskLevel.Critical))
            {
                continue;
            }

            evidence.Add($"{reading.Text}, but {winner.Text}; the riskier reading wins");
        }

        evidence.AddRange(notes);
        return new RiskProfile(winner.Category, level, evidence);
    }
}
