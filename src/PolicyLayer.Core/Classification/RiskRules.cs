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

/// <summary>One signal's reading of a tool: a category, a level, and what it saw.</summary>
internal readonly record struct RiskReading(RiskCategory Category, RiskLevel Level, SignalSource Source, string Text);

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
        bool defaultDestructive = ReadAnnotations(tool.Annotations, readings);

        // The name's verb.
        WordKind? nameVerb = FindVerb(name, nameWords, out Range nameVerbRange);
        if (nameVerb is { } nameKind)
        {
            string verb = name[nameVerbRange];
            readings.Add(VerbReading(nameKind, SignalSource.Name, $"the name verb '{verb}'"));
        }

        // The description's opening verb and its phrases.
        WordKind? descriptionVerb = FindDescriptionVerb(description, out string? descriptionVerbText);
        if (descriptionVerb is { } descriptionKind)
        {
            readings.Add(VerbReading(descriptionKind, SignalSource.Description, $"the description's verb '{descriptionVerbText}'"));
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
            ReadSchema(properties, ref schema);
        }

        if (schema.CodeProperty is not null)
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

        return Decide(readings, defaultDestructive);
    }

    private static bool ReadAnnotations(ToolAnnotations? annotations, List<RiskReading> readings)
    {
        // No annotations object: no evidence either way. MCP's defaults apply only to hints
        // missing from an annotations object the server did send.
        if (annotations is null)
        {
            return false;
        }

        string extra = ExtraHints(annotations);
        if (annotations.ReadOnlyHint == true)
        {
            // destructiveHint means something only when readOnlyHint is false.
            readings.Add(new RiskReading(RiskCategory.Read, RiskLevel.Low, SignalSource.Annotation, "readOnlyHint=true claims Read" + extra));
            return false;
        }

        string readOnly = annotations.ReadOnlyHint is null ? "readOnlyHint absent (MCP default false)" : "readOnlyHint=false";
        switch (annotations.DestructiveHint)
        {
            case true:
                readings.Add(new RiskReading(RiskCategory.Destructive, RiskLevel.Critical, SignalSource.Annotation, "destructiveHint=true says Destructive" + extra));
                return false;
            case false:
                readings.Add(new RiskReading(RiskCategory.Write, RiskLevel.Medium, SignalSource.Annotation, $"{readOnly} and destructiveHint=false say Write" + extra));
                return false;
            default:
                readings.Add(new RiskReading(RiskCategory.Write, RiskLevel.Medium, SignalSource.Annotation, $"{readOnly} says the tool changes its environment: Write" + extra));
                return true;
        }
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
    /// The verb of a name: its first word when that is a verb (<c>delete_flow</c>), else its last
    /// (<c>issue_write</c>, <c>pull_request_read</c>), else the first verb anywhere
    /// (<c>slack_post_message</c>). "start", "resume" and the like run something only when the name
    /// also has a runnable noun (<c>start_process</c>); otherwise the search goes on.
    /// </summary>
    internal static WordKind? FindVerb(ReadOnlySpan<char> text, ReadOnlySpan<Range> words, out Range verb)
    {
        verb = default;
        if (words.IsEmpty)
        {
            return null;
        }

        bool runnable = AnyIn(text, words, RiskVocabulary.RunnableNouns);
        int weak = -1;
        int last = words.Length - 1;
        for (int step = 0; step <= last; step++)
        {
            // Order: first word, last word, then the words in between from left to right.
            int index = step == 0 ? 0 : step == 1 ? last : step - 1;
            if (step > 0 && index == 0)
            {
                continue;
            }

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

                weak = weak < 0 ? index : weak;
                continue;
            }

            verb = words[index];
            return kind;
        }

        if (weak >= 0)
        {
            verb = words[weak];
            return WordKind.WriteVerb;
        }

        return null;
    }

    /// <summary>The verb a description opens with, after fillers such as "This tool will".</summary>
    private static WordKind? FindDescriptionVerb(string description, out string? verbText)
    {
        verbText = null;
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

        ReadOnlySpan<char> sentence = text[..sentenceEnd];
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

    private static void ReadSchema(JsonElement properties, ref SchemaFindings findings)
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
                    RiskReading? action = ReadActionEnum(propertyName, values);
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

    private static bool TakesCode(string propertyName, ReadOnlySpan<Range> words)
    {
        if (RiskVocabulary.CodeProperties.Contains(propertyName))
        {
            return true;
        }

        // python_code, jsCode, bash_script, source_code.
        if (words.Length >= 2)
        {
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
    private static RiskReading? ReadActionEnum(string propertyName, JsonElement values)
    {
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
            WordKind? kind = FindVerb(action, words[..count], out _);
            if (kind is null)
            {
                continue;
            }

            RiskReading reading = VerbReading(kind.Value, SignalSource.Schema, $"the '{propertyName}' enum's most dangerous action '{action}'");
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

        string? cue = FinancialNoun(name, nameWords) is { } noun ? $"the name noun '{noun}'"
            : financialProperty is not null ? $"the input property '{financialProperty}'"
            : description.AsSpan().IndexOfAny(MoneyWords) is var at and >= 0 ? $"the description's '{WordAt(description, at)}'"
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

    private static string? FinancialNoun(string name, ReadOnlySpan<Range> words)
    {
        for (int i = 0; i < words.Length; i++)
        {
            ReadOnlySpan<char> word = name.AsSpan()[words[i]];
            if (!RiskVocabulary.FinancialNouns.Contains(word))
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

    private static RiskProfile Decide(List<RiskReading> readings, bool defaultDestructive)
    {
        bool contentSpoke = readings.Exists(static r => r.Source != SignalSource.Annotation);
        if (defaultDestructive && !contentSpoke)
        {
            readings.Add(new RiskReading(RiskCategory.Destructive, RiskLevel.Critical, SignalSource.Annotation,
                "destructiveHint absent, so MCP's default (true) says Destructive; no verb, phrase or schema says otherwise"));
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

        var evidence = new List<string>(readings.Count + 1);
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

        if (defaultDestructive && contentSpoke)
        {
            evidence.Add("destructiveHint absent: MCP's default (true) is not a claim by the server and gives way to the verbs, phrases and schema");
        }

        return new RiskProfile(winner.Category, level, evidence);
    }
}
