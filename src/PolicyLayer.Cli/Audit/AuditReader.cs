using System.Globalization;
using System.Text.Json;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Audit;

/// <summary>
/// Reads an audit log line by line (streaming: a log of any length costs one line's memory to read). A line that is not
/// an audit line stops the read with its file, line number and what is wrong; a last line cut short (the writer was
/// killed mid-line) is skipped with a warning, as it can only be the end of an interrupted log.
/// </summary>
internal static class AuditReader
{
    /// <summary>The format versions this reader knows (the <c>v</c> field).</summary>
    public const int KnownVersion = 1;

    public static IEnumerable<AuditRecord> Read(TextReader reader, string fileName, TextWriter warnings)
    {
        var number = 0;
        string? pending = null;
        var pendingNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (pending is not null)
            {
                yield return Parse(pending, fileName, pendingNumber);
            }

            pending = string.IsNullOrWhiteSpace(line) ? null : line;
            pendingNumber = number;
        }

        if (pending is not null)
        {
            AuditRecord? last;
            try
            {
                last = Parse(pending, fileName, pendingNumber);
            }
            catch (UsageException) when (!IsCompleteJson(pending))
            {
                warnings.WriteLine($"{fileName}:{pendingNumber}: the last line is cut short (the log's writer was stopped mid-line); skipped.");
                last = null;
            }

            if (last is not null)
            {
                yield return last;
            }
        }
    }

    private static bool IsCompleteJson(string line)
    {
        try
        {
            using var _ = JsonDocument.Parse(line);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static AuditRecord Parse(string text, string fileName, int line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{fileName}:{line}: not a JSON object: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Problem("not a JSON object");
            }

            var version = root.TryGetProperty("v", out var v) && v.TryGetInt32(out var n) ? n : 0;
            if (version != KnownVersion)
            {
                throw Problem(version == 0
                    ? "no format version (\"v\"): not an audit line of this tool, or written by a version before 1"
                    : $"format version {version} is not known to this policylayer (it reads version {KnownVersion}); use a newer one");
            }

            var timeText = RequiredString(root, "time");
            if (!DateTimeOffset.TryParse(timeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            {
                throw Problem($"\"time\" is not a UTC time: \"{timeText}\"");
            }

            var counters = new List<AuditCounter>();
            if (root.TryGetProperty("counters", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var c in list.EnumerateArray())
                {
                    counters.Add(new AuditCounter(
                        RequiredString(c, "name"), RequiredString(c, "scope"), RequiredLong(c, "reserved"), RequiredLong(c, "remaining"), RequiredLong(c, "max"),
                        c.TryGetProperty("windowSeconds", out var w) && w.TryGetDouble(out var seconds) ? seconds : 0));
                }
            }

            var keys = new List<string>();
            if (root.TryGetProperty("argumentKeys", out var keyList) && keyList.ValueKind == JsonValueKind.Array)
            {
                foreach (var key in keyList.EnumerateArray())
                {
                    keys.Add(key.GetString() ?? throw Problem("\"argumentKeys\" holds a value that is not a string"));
                }
            }

            JsonElement? arguments = null;
            if (root.TryGetProperty("arguments", out var args))
            {
                arguments = args.ValueKind == JsonValueKind.Object ? args.Clone() : throw Problem("\"arguments\" is not an object");
            }

            var outcome = RequiredString(root, "outcome");
            if (outcome is not ("allow" or "deny" or "require_approval"))
            {
                throw Problem($"\"outcome\" is \"{outcome}\"; expected allow, deny or require_approval");
            }

            return new AuditRecord
            {
                Line = line,
                Time = time,
                Session = RequiredString(root, "session"),
                Agent = OptionalString(root, "agent"),
                User = OptionalString(root, "user"),
                Grant = OptionalString(root, "grant"),
                Id = root.TryGetProperty("id", out var id) && id.ValueKind != JsonValueKind.Null ? id.GetRawText() : null,
                Tool = RequiredString(root, "tool"),
                Risk = OptionalString(root, "risk"),
                Outcome = outcome,
                Kind = RequiredString(root, "kind"),
                Shadowed = root.TryGetProperty("shadowed", out var shadowed) && shadowed.ValueKind == JsonValueKind.True,
                Rule = RequiredString(root, "rule"),
                PolicyRevision = OptionalString(root, "policyRevision"),
                Reason = OptionalString(root, "reason") ?? string.Empty,
                Approval = OptionalString(root, "approval"),
                Counters = counters,
                ArgumentKeys = keys,
                Arguments = arguments,
            };
        }

        UsageException Problem(string what) => new($"{fileName}:{line}: {what}.");

        string RequiredString(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : throw Problem($"\"{name}\" is missing or not a string");

        long RequiredLong(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.TryGetInt64(out var number)
                ? number
                : throw Problem($"a counter's \"{name}\" is missing or not an integer");

        static string? OptionalString(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}
