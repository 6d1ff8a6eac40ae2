using System.Globalization;
using System.Net;
using System.Text;

namespace PolicyLayer.Cli.Audit;

/// <summary>
/// The audit summary as one self-contained HTML page: inline CSS and SVG charts (decisions over time by result, the
/// rules that refused most, each counter's peak budget use) and the tables of the text report. No script, no fetches:
/// it opens from disk, offline, and every string from the log (tool names, reasons, callers, all chosen by clients or
/// policy authors) is HTML-encoded.
/// </summary>
internal static class AuditHtmlReport
{
    private static readonly (AuditResult Result, string Label, string Colour)[] Series =
    [
        (AuditResult.Allowed, "allowed", "#2e7d32"),
        (AuditResult.Refused, "refused", "#c62828"),
        (AuditResult.ApprovalNotGiven, "approval not given", "#ef6c00"),
        (AuditResult.ShadowRefused, "would be refused (shadow)", "#6a1b9a"),
        (AuditResult.Error, "error", "#455a64"),
    ];

    public static string Render(AuditSummary summary, string source, int top)
    {
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>PolicyLayer audit report</title>
            <style>
            body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; color: #1b1b1b; }
            h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
            .meta { color: #555; } table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
            th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
            code { font-family: ui-monospace, monospace; font-size: .92em; word-break: break-all; }
            .legend span { display: inline-block; margin-right: 1rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
            .cards { display: flex; gap: 1rem; flex-wrap: wrap; } .card { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; min-width: 8rem; }
            .card b { display: block; font-size: 1.4rem; } svg text { font: 11px system-ui, sans-serif; fill: #333; }
            </style>
            </head>
            <body>
            <h1>PolicyLayer audit report</h1>

            """);
        html.Append("<p class=\"meta\">").Append(E(source));
        if (summary.First is { } first && summary.Last is { } last)
        {
            html.Append(" &middot; ").Append(E(AuditSummary.Format(first))).Append(" to ").Append(E(AuditSummary.Format(last)))
                .Append(" &middot; ").Append(summary.Sessions).Append(" session(s) &middot; policy revision(s): ")
                .Append(E(string.Join(", ", summary.Revisions.Order(StringComparer.Ordinal))));
        }

        html.Append("</p>\n<div class=\"cards\">\n");
        Card(html, "decisions", summary.Total.Calls);
        foreach (var (result, label, _) in Series)
        {
            Card(html, label, Of(summary.Total, result));
        }

        html.Append("</div>\n");

        html.Append("<h2>Decisions over time</h2>\n");
        Legend(html);
        OverTimeChart(html, summary);

        html.Append("<h2>Rules that refused most</h2>\n");
        var rules = summary.RefusingRules.Take(top).ToList();
        if (rules.Count == 0)
        {
            html.Append("<p>None: every call was allowed.</p>\n");
        }
        else
        {
            BarChart(html, "Refusals by rule", rules.Select(r => (r.Rule, (double)r.Tally.Count, AuditSummary.Count(r.Tally.Count))).ToList(), "#c62828");
            html.Append("<table><tr><th>rule</th><th class=\"n\">refusals</th><th>kinds</th><th>reason</th></tr>\n");
            foreach (var (rule, tally) in rules)
            {
                html.Append("<tr><td><code>").Append(E(rule)).Append("</code></td><td class=\"n\">").Append(tally.Count).Append("</td><td>")
                    .Append(E(string.Join(", ", tally.Kinds.Order(StringComparer.Ordinal)))).Append("</td><td>").Append(E(tally.Reason)).Append("</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        html.Append("<h2>Budget use per counter</h2>\n");
        var counters = summary.Counters.Take(top).ToList();
        if (counters.Count == 0)
        {
            html.Append("<p>No counted calls.</p>\n");
        }
        else
        {
            html.Append("<p class=\"meta\">The peak share of each counter's window in use right after a call that reserved in it.</p>\n");
            BarChart(html, "Peak budget use", counters.Select(c => (c.Counter, c.Tally.PeakUsed, AuditSummary.Percent(c.Tally.PeakUsed))).ToList(), "#1565c0", maximum: 1);
            html.Append("<table><tr><th>counter</th><th class=\"n\">max</th><th class=\"n\">window</th><th class=\"n\">calls</th><th class=\"n\">units</th><th class=\"n\">peak use</th><th class=\"n\">calls that used the last unit</th></tr>\n");
            foreach (var (counter, tally) in counters)
            {
                html.Append("<tr><td><code>").Append(E(counter)).Append("</code></td>");
                Cells(html, AuditSummary.Count(tally.Max), AuditSummary.Span(TimeSpan.FromSeconds(tally.WindowSeconds)), AuditSummary.Count(tally.Calls), AuditSummary.Count(tally.Units), AuditSummary.Percent(tally.PeakUsed), AuditSummary.Count(tally.Exhausted));
                html.Append("</tr>\n");
            }

            html.Append("</table>\n");
        }

        html.Append("<h2>By tool</h2>\n");
        TallyTable(html, "tool", summary.Tools.Take(top));
        html.Append("<h2>By caller</h2>\n");
        TallyTable(html, "caller", summary.Callers.Take(top));
        html.Append("<h2>By outcome</h2>\n<table><tr><th>kind</th><th class=\"n\">calls</th><th class=\"n\">share</th></tr>\n");
        foreach (var (kind, count) in summary.Kinds)
        {
            html.Append("<tr><td>").Append(E(kind)).Append("</td>");
            Cells(html, AuditSummary.Count(count), AuditSummary.Percent(count, summary.Total.Calls));
            html.Append("</tr>\n");
        }

        html.Append("</table>\n<p class=\"meta\">Written by <code>policylayer audit --html</code>.</p>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string N(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static long Of(Tally tally, AuditResult result) => result switch
    {
        AuditResult.Allowed => tally.Allowed,
        AuditResult.Refused => tally.Refused,
        AuditResult.ApprovalNotGiven => tally.ApprovalNotGiven,
        AuditResult.ShadowRefused => tally.ShadowRefused,
        _ => tally.Errors,
    };

    private static void Card(StringBuilder html, string label, long value) =>
        html.Append("<div class=\"card\"><b>").Append(value.ToString(CultureInfo.InvariantCulture)).Append("</b>").Append(E(label)).Append("</div>\n");

    private static void Cells(StringBuilder html, params string[] cells)
    {
        foreach (var cell in cells)
        {
            html.Append("<td class=\"n\">").Append(E(cell)).Append("</td>");
        }
    }

    private static void Legend(StringBuilder html)
    {
        html.Append("<p class=\"legend\">");
        foreach (var (_, label, colour) in Series)
        {
            html.Append("<span><i style=\"background:").Append(colour).Append("\"></i>").Append(E(label)).Append("</span>");
        }

        html.Append("</p>\n");
    }

    /// <summary>Stacked columns, one per time bucket; each segment's tooltip gives its count.</summary>
    private static void OverTimeChart(StringBuilder html, AuditSummary summary)
    {
        var (size, buckets) = summary.OverTime();
        if (buckets.Count == 0)
        {
            html.Append("<p>No decisions.</p>\n");
            return;
        }

        const double width = 960, height = 240, left = 40, bottom = 30, top = 10;
        var plot = height - bottom - top;
        var peak = Math.Max(1, buckets.Max(b => b.Tally.Calls));
        var column = (width - left) / buckets.Count;
        html.Append("<svg role=\"img\" aria-label=\"Decisions over time, per ").Append(E(AuditSummary.Span(size)))
            .Append(", by result\" viewBox=\"0 0 ").Append(N(width)).Append(' ').Append(N(height)).Append("\" width=\"100%\">\n");
        html.Append("<line x1=\"").Append(N(left)).Append("\" y1=\"").Append(N(top + plot)).Append("\" x2=\"").Append(N(width)).Append("\" y2=\"").Append(N(top + plot)).Append("\" stroke=\"#999\"/>\n");
        html.Append("<text x=\"").Append(N(left - 4)).Append("\" y=\"").Append(N(top + 8)).Append("\" text-anchor=\"end\">").Append(peak).Append("</text>\n");
        html.Append("<text x=\"").Append(N(left - 4)).Append("\" y=\"").Append(N(top + plot)).Append("\" text-anchor=\"end\">0</text>\n");
        for (var i = 0; i < buckets.Count; i++)
        {
            var (start, tally) = buckets[i];
            var y = top + plot;
            foreach (var (result, label, colour) in Series)
            {
                var count = Of(tally, result);
                if (count == 0)
                {
                    continue;
                }

                var h = plot * count / peak;
                y -= h;
                html.Append("<rect x=\"").Append(N(left + i * column + 1)).Append("\" y=\"").Append(N(y)).Append("\" width=\"").Append(N(Math.Max(1, column - 2)))
                    .Append("\" height=\"").Append(N(h)).Append("\" fill=\"").Append(colour).Append("\"><title>")
                    .Append(E(AuditSummary.Format(start))).Append(": ").Append(count).Append(' ').Append(E(label)).Append("</title></rect>\n");
            }
        }

        foreach (var i in new[] { 0, buckets.Count - 1 }.Distinct())
        {
            html.Append("<text x=\"").Append(N(left + i * column + (i == 0 ? 0 : column))).Append("\" y=\"").Append(N(height - 8))
                .Append("\" text-anchor=\"").Append(i == 0 ? "start" : "end").Append("\">").Append(E(AuditSummary.Format(buckets[i].Start))).Append("</text>\n");
        }

        html.Append("</svg>\n<p class=\"meta\">One column per ").Append(E(AuditSummary.Span(size))).Append(".</p>\n");
    }

    /// <summary>Horizontal bars, one per row, labelled and scaled to <paramref name="maximum"/> (or the largest value).</summary>
    private static void BarChart(StringBuilder html, string title, IReadOnlyList<(string Label, double Value, string Text)> rows, string colour, double? maximum = null)
    {
        const double width = 960, label = 360, bar = 20, gap = 6;
        var peak = maximum ?? Math.Max(1, rows.Max(r => r.Value));
        var height = rows.Count * (bar + gap) + gap;
        html.Append("<svg role=\"img\" aria-label=\"").Append(E(title)).Append("\" viewBox=\"0 0 ").Append(N(width)).Append(' ').Append(N(height)).Append("\" width=\"100%\">\n");
        for (var i = 0; i < rows.Count; i++)
        {
            var (name, value, text) = rows[i];
            var y = gap + i * (bar + gap);
            var w = Math.Max(1, (width - label - 80) * Math.Clamp(value / peak, 0, 1));
            html.Append("<text x=\"").Append(N(label - 6)).Append("\" y=\"").Append(N(y + 14)).Append("\" text-anchor=\"end\">").Append(E(AuditSummary.Shorten(name, 60))).Append("</text>\n");
            html.Append("<rect x=\"").Append(N(label)).Append("\" y=\"").Append(N(y)).Append("\" width=\"").Append(N(w)).Append("\" height=\"").Append(N(bar)).Append("\" fill=\"").Append(colour)
                .Append("\"><title>").Append(E(name)).Append(": ").Append(E(text)).Append("</title></rect>\n");
            html.Append("<text x=\"").Append(N(label + w + 6)).Append("\" y=\"").Append(N(y + 14)).Append("\">").Append(E(text)).Append("</text>\n");
        }

        html.Append("</svg>\n");
    }

    private static void TallyTable(StringBuilder html, string what, IEnumerable<(string Name, Tally Tally)> rows)
    {
        html.Append("<table><tr><th>").Append(E(what)).Append("</th><th class=\"n\">calls</th><th class=\"n\">allowed</th><th class=\"n\">refused</th><th class=\"n\">approval not given</th><th class=\"n\">shadow refused</th><th class=\"n\">errors</th></tr>\n");
        foreach (var (name, tally) in rows)
        {
            html.Append("<tr><td><code>").Append(E(name)).Append("</code></td>");
            Cells(html, AuditSummary.Count(tally.Calls), AuditSummary.Count(tally.Allowed), AuditSummary.Count(tally.Refused), AuditSummary.Count(tally.ApprovalNotGiven), AuditSummary.Count(tally.ShadowRefused), AuditSummary.Count(tally.Errors));
            html.Append("</tr>\n");
        }

        html.Append("</table>\n");
    }
}
