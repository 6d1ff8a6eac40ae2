using System.Globalization;
using System.Text;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Audit;

/// <summary>
/// What an audit log says, summed up in one pass: decisions per result, per tool, per refusing rule, per caller, over
/// time, and the peak use of each counter's budget. Memory grows with the distinct tools, rules, callers and counters,
/// and by a few bytes per line for the time series, never with the size of a line.
/// </summary>
internal sealed class AuditSummary
{
    /// <summary>Bucket sizes for decisions over time, the smallest that gives at most <see cref="MaxBuckets"/> buckets wins.</summary>
    private static readonly TimeSpan[] BucketSizes =
    [
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15),
        TimeSpan.FromHours(1), TimeSpan.FromHours(6), TimeSpan.FromDays(1), TimeSpan.FromDays(7),
    ];

    public const int MaxBuckets = 48;

    private readonly Dictionary<string, Tally> _tools = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RuleTally> _rules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tally> _callers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CounterTally> _counters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _kinds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sessions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _revisions = new(StringComparer.Ordinal);
    private readonly List<(long Ticks, AuditResult Result)> _times = [];

    public Tally Total { get; } = new();

    public DateTimeOffset? First { get; private set; }

    public DateTimeOffset? Last { get; private set; }

    public int Sessions => _sessions.Count;

    public IReadOnlyCollection<string> Revisions => _revisions;

    public void Add(AuditRecord record)
    {
        Total.Add(record.Result);
        Tally(_tools, record.Tool).Add(record.Result);
        Tally(_callers, record.Caller).Add(record.Result);
        _kinds[record.Kind] = _kinds.GetValueOrDefault(record.Kind) + 1;
        _sessions.Add(record.Session);
        if (record.PolicyRevision is { } revision)
        {
            _revisions.Add(revision);
        }

        if (record.Result != AuditResult.Allowed)
        {
            if (!_rules.TryGetValue(record.Rule, out var rule))
            {
                _rules[record.Rule] = rule = new RuleTally(record.Reason);
            }

            rule.Count++;
            rule.Kinds.Add(record.Kind);
        }

        foreach (var counter in record.Counters)
        {
            if (!_counters.TryGetValue(counter.Label, out var tally))
            {
                _counters[counter.Label] = tally = new CounterTally(counter.Max, counter.WindowSeconds);
            }

            tally.Calls++;
            tally.Units += counter.Reserved;
            tally.PeakUsed = Math.Max(tally.PeakUsed, counter.Used);
            if (counter.Remaining <= 0)
            {
                tally.Exhausted++;
            }
        }

        First = First is { } first && first <= record.Time ? first : record.Time;
        Last = Last is { } last && last >= record.Time ? last : record.Time;
        _times.Add((record.Time.UtcTicks, record.Result));
    }

    public IEnumerable<(string Tool, Tally Tally)> Tools =>
        _tools.OrderByDescending(t => t.Value.Calls).ThenBy(t => t.Key, StringComparer.Ordinal).Select(t => (t.Key, t.Value));

    public IEnumerable<(string Caller, Tally Tally)> Callers =>
        _callers.OrderByDescending(t => t.Value.Calls).ThenBy(t => t.Key, StringComparer.Ordinal).Select(t => (t.Key, t.Value));

    public IEnumerable<(string Rule, RuleTally Tally)> RefusingRules =>
        _rules.OrderByDescending(r => r.Value.Count).ThenBy(r => r.Key, StringComparer.Ordinal).Select(r => (r.Key, r.Value));

    public IEnumerable<(string Counter, CounterTally Tally)> Counters =>
        _counters.OrderByDescending(c => c.Value.PeakUsed).ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value));

    public IEnumerable<(string Kind, int Count)> Kinds =>
        _kinds.OrderByDescending(k => k.Value).ThenBy(k => k.Key, StringComparer.Ordinal).Select(k => (k.Key, k.Value));

    /// <summary>Decisions over time: each bucket's start and its tally, gaps included, at most <see cref="MaxBuckets"/>.</summary>
    public (TimeSpan Size, IReadOnlyList<(DateTimeOffset Start, Tally Tally)> Buckets) OverTime()
    {
        if (First is not { } first || Last is not { } last)
        {
            return (TimeSpan.Zero, []);
        }

        var span = last - first;
        var size = BucketSizes.FirstOrDefault(s => span.Ticks / s.Ticks < MaxBuckets, TimeSpan.Zero);
        if (size == TimeSpan.Zero)
        {
            size = TimeSpan.FromTicks(span.Ticks / (MaxBuckets - 1) + 1);
        }

        var start = first.UtcTicks - first.UtcTicks % size.Ticks;
        var count = (int)((last.UtcTicks - start) / size.Ticks) + 1;
        var buckets = new Tally[count];
        for (var i = 0; i < count; i++)
        {
            buckets[i] = new Tally();
        }

        foreach (var (ticks, result) in _times)
        {
            buckets[(ticks - start) / size.Ticks].Add(result);
        }

        return (size, buckets.Select((tally, i) => (new DateTimeOffset(start + i * size.Ticks, TimeSpan.Zero), tally)).ToList());
    }

    /// <summary>The text report: totals, then one table per view.</summary>
    public string ToText(int top)
    {
        var text = new StringBuilder();
        if (Total.Calls == 0)
        {
            return "No decisions in the log.\n";
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"{Total.Calls} decisions, {Format(First!.Value)} to {Format(Last!.Value)}, {Sessions} session(s), policy revision(s): {string.Join(", ", Revisions.Order(StringComparer.Ordinal))}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  allowed {Total.Allowed}, refused {Total.Refused}, approval not given {Total.ApprovalNotGiven}, would be refused (shadow) {Total.ShadowRefused}, errors {Total.Errors}");
        text.AppendLine();

        text.AppendLine("By outcome");
        var kinds = new TextTable("kind", "calls", "share");
        foreach (var (kind, count) in Kinds)
        {
            kinds.Add(kind, Count(count), Percent(count, Total.Calls));
        }

        text.Append(kinds).AppendLine();

        text.AppendLine("By tool");
        text.Append(TallyTable("tool", Tools.Take(top))).Append(More(_tools.Count, top, "tools")).AppendLine();

        text.AppendLine("Refusing rules");
        if (_rules.Count == 0)
        {
            text.AppendLine("  (none: every call was allowed)");
        }
        else
        {
            var rules = new TextTable("rule", "refusals", "kinds", "reason");
            foreach (var (rule, tally) in RefusingRules.Take(top))
            {
                rules.Add(rule, Count(tally.Count), string.Join(",", tally.Kinds.Order(StringComparer.Ordinal)), Shorten(tally.Reason, 80));
            }

            text.Append(rules).Append(More(_rules.Count, top, "rules"));
        }

        text.AppendLine();
        text.AppendLine("By caller");
        text.Append(TallyTable("caller", Callers.Take(top))).Append(More(_callers.Count, top, "callers")).AppendLine();

        text.AppendLine("Budgets (peak use of each counter's window, over the calls that reserved in it)");
        if (_counters.Count == 0)
        {
            text.AppendLine("  (no counted calls)");
        }
        else
        {
            var counters = new TextTable("counter", "max", "window", "calls", "units", "peak use", "calls that used the last unit");
            foreach (var (counter, tally) in Counters.Take(top))
            {
                counters.Add(counter, Count(tally.Max), Span(TimeSpan.FromSeconds(tally.WindowSeconds)), Count(tally.Calls), Count(tally.Units), Percent(tally.PeakUsed), Count(tally.Exhausted));
            }

            text.Append(counters).Append(More(_counters.Count, top, "counters"));
        }

        text.AppendLine();
        var (size, buckets) = OverTime();
        text.AppendLine(CultureInfo.InvariantCulture, $"Over time (per {Span(size)}; buckets without calls left out)");
        var time = new TextTable("from", "calls", "allowed", "refused", "approval not given", "shadow refused", "errors");
        foreach (var (start, tally) in buckets.Where(b => b.Tally.Calls > 0))
        {
            time.Add(Format(start), Count(tally.Calls), Count(tally.Allowed), Count(tally.Refused), Count(tally.ApprovalNotGiven), Count(tally.ShadowRefused), Count(tally.Errors));
        }

        text.Append(time);
        return text.ToString();
    }

    internal static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A span as people write it: <c>10s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>; seconds when it is not whole minutes.</summary>
    internal static string Span(TimeSpan span) =>
        span.Ticks % TimeSpan.TicksPerDay == 0 && span.Ticks > 0 ? Count(span.Ticks / TimeSpan.TicksPerDay) + "d"
        : span.Ticks % TimeSpan.TicksPerHour == 0 && span.Ticks > 0 ? Count(span.Ticks / TimeSpan.TicksPerHour) + "h"
        : span.Ticks % TimeSpan.TicksPerMinute == 0 && span.Ticks > 0 ? Count(span.Ticks / TimeSpan.TicksPerMinute) + "m"
        : span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";

    internal static string Count(long n) => n.ToString(CultureInfo.InvariantCulture);

    internal static string Percent(long part, long whole) => whole == 0 ? "-" : Percent((double)part / whole);

    internal static string Percent(double share) => (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    internal static string Shorten(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");

    private static TextTable TallyTable(string what, IEnumerable<(string Name, Tally Tally)> rows)
    {
        var table = new TextTable(what, "calls", "allowed", "refused", "approval not given", "shadow refused", "errors");
        foreach (var (name, tally) in rows)
        {
            table.Add(name, Count(tally.Calls), Count(tally.Allowed), Count(tally.Refused), Count(tally.ApprovalNotGiven), Count(tally.ShadowRefused), Count(tally.Errors));
        }

        return table;
    }

    private static string More(int count, int top, string what) =>
        count > top ? string.Create(CultureInfo.InvariantCulture, $"  ... and {count - top} more {what} (--top to show more)\n") : string.Empty;

    private static Tally Tally(Dictionary<string, Tally> tallies, string key)
    {
        if (!tallies.TryGetValue(key, out var tally))
        {
            tallies[key] = tally = new Tally();
        }

        return tally;
    }
}

/// <summary>Calls by what became of them.</summary>
internal sealed class Tally
{
    public long Calls { get; private set; }

    public long Allowed { get; private set; }

    public long Refused { get; private set; }

    public long ApprovalNotGiven { get; private set; }

    public long ShadowRefused { get; private set; }

    public long Errors { get; private set; }

    public void Add(AuditResult result)
    {
        Calls++;
        switch (result)
        {
            case AuditResult.Allowed: Allowed++; break;
            case AuditResult.Refused: Refused++; break;
            case AuditResult.ApprovalNotGiven: ApprovalNotGiven++; break;
            case AuditResult.ShadowRefused: ShadowRefused++; break;
            default: Errors++; break;
        }
    }
}

/// <summary>A rule's refusals: how many, of which kinds, and its reason (the first seen).</summary>
internal sealed class RuleTally(string reason)
{
    public string Reason { get; } = reason;

    public int Count { get; set; }

    public HashSet<string> Kinds { get; } = new(StringComparer.Ordinal);
}

/// <summary>A counter's use over the log.</summary>
internal sealed class CounterTally(long max, double windowSeconds)
{
    public long Max { get; } = max;

    public double WindowSeconds { get; } = windowSeconds;

    public long Calls { get; set; }

    public long Units { get; set; }

    public double PeakUsed { get; set; }

    public long Exhausted { get; set; }
}
