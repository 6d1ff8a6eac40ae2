using System.Diagnostics;
using System.Net.Http;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using PolicyLayer.TestUtils;
using PolicyLayer.TestUtils.Fakes;

namespace PolicyLayer.Core.Tests.Operations;

/// <summary>
/// docs/grafana/policylayer-dashboard.json against the real thing: the PolicyLayer meter exported by the OpenTelemetry
/// Prometheus exporter, scraped by a real Prometheus (Debian's), and every query of every panel (and the dashboard's
/// variable) run against it and answered with data. A renamed instrument, tag or a query typo fails here.
/// </summary>
[NonParallelizable]
public sealed class GrafanaDashboardTests
{
    private const string InstallHint = "Install it: apt-get update && apt-get install -y prometheus";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Test]
    public async Task EveryPanelQueryAndVariable_ReturnsDataFromTheMeterAsPrometheusScrapesIt()
    {
        var prometheus = ExternalTools.Require("prometheus", InstallHint);
        var exporterPort = ExternalTools.FreePort();
        using var meters = Sdk.CreateMeterProviderBuilder()
            .AddMeter(PolicyLayerTelemetry.MeterName)
            .AddPrometheusHttpListener(o => { o.Host = "127.0.0.1"; o.Port = exporterPort; })
            .Build();

        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(56));
        const string policy = """
            {
              "version": "1",
              "default": "deny",
              "tools": {
                "list_flows": {},
                "add_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 1, "scope": "session" } ] },
                "delete_flow": { "action": "deny", "reason": "Deleting is done by people." },
                "execute_flow": { "action": "require_approval" }
              }
            }
            """;
        using var enforced = new PolicyEvaluator(PolicyDocument.Parse(policy), new PolicyEvaluatorOptions { TimeProvider = time });
        using var shadow = new PolicyEvaluator(PolicyDocument.Parse(policy), new PolicyEvaluatorOptions { TimeProvider = time, ShadowMode = true });
        using var broken = new PolicyEvaluator(PolicyDocument.Parse(policy), new PolicyEvaluatorOptions { TimeProvider = time, CounterStore = new FailingCounterStore() });

        var dataDirectory = Directory.CreateTempSubdirectory("policylayer-prometheus-");
        var prometheusPort = ExternalTools.FreePort();
        var config = Path.Combine(dataDirectory.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: policylayer
                static_configs:
                  - targets: ["127.0.0.1:{exporterPort}"]
            """);
        using var server = Process.Start(new ProcessStartInfo(prometheus)
        {
            ArgumentList =
            {
                "--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(dataDirectory.FullName, "data"),
                "--web.listen-address=127.0.0.1:" + prometheusPort, "--log.level=warn",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var serverLog = server.StandardError.ReadToEndAsync();
        try
        {
            var queries = DashboardQueries();
            queries.Should().HaveCountGreaterThanOrEqualTo(8, "seven panels, one with two queries");
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{prometheusPort}/"), Timeout = TimeSpan.FromSeconds(5) };
            var clock = Stopwatch.StartNew();
            Dictionary<string, string> missing;
            do
            {
                // Decisions keep coming, as in a live server, so that rate() has samples to compare.
                await enforced.EvaluateAsync(new ToolCall("list_flows"));
                await enforced.EvaluateAsync(new ToolCall("delete_flow"));
                await enforced.EvaluateAsync(new ToolCall("execute_flow"));
                await enforced.EvaluateAsync(new ToolCall("add_labels", new CallerIdentity { SessionId = "s" }));
                await shadow.EvaluateAsync(new ToolCall("delete_flow"));
                await broken.EvaluateAsync(new ToolCall("add_labels", new CallerIdentity { SessionId = "s" }));
                await Task.Delay(500);

                missing = [];
                foreach (var (title, query) in queries)
                {
                    if (await QueryAsync(http, query) is { } problem)
                    {
                        missing[title + ": " + query] = problem;
                    }
                }
            }
            while (missing.Count > 0 && clock.Elapsed < Deadline && !server.HasExited);

            server.HasExited.Should().BeFalse("prometheus must keep running: {0}", server.HasExited ? await serverLog : string.Empty);
            missing.Should().BeEmpty("every panel's query must return data within {0}", Deadline);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }

            dataDirectory.Delete(recursive: true);
        }
    }

    /// <summary>Every panel target's expression (and the job variable's), with Grafana's macros filled in as Grafana would.</summary>
    private static List<(string Title, string Query)> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(RepositoryPaths.Get("docs", "grafana", "policylayer-dashboard.json")));
        var queries = new List<(string, string)>();
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                queries.Add((panel.GetProperty("title").GetString()!, Fill(target.GetProperty("expr").GetString()!)));
            }
        }

        foreach (var variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() == "query")
            {
                // label_values(METRIC, LABEL) is Grafana's; as PromQL it is "the series of METRIC that have LABEL".
                var text = variable.GetProperty("query").GetString()!;
                var inner = text["label_values(".Length..^1].Split(',', StringSplitOptions.TrimEntries);
                queries.Add(("variable " + variable.GetProperty("name").GetString(), $"count by ({inner[1]}) ({inner[0]})"));
            }
        }

        return queries;

        static string Fill(string expr) => expr.Replace("$__rate_interval", "15s").Replace("$__range", "5m").Replace("$job", ".*");
    }

    /// <summary>Runs <paramref name="query"/>; null when it returned data, else what is wrong.</summary>
    private static async Task<string?> QueryAsync(HttpClient http, string query)
    {
        try
        {
            using var response = await http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(query));
            using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (answer.RootElement.GetProperty("status").GetString() != "success")
            {
                return "error: " + answer.RootElement.GetProperty("error").GetString();
            }

            var results = answer.RootElement.GetProperty("data").GetProperty("result");
            return results.EnumerateArray().Any(r => r.GetProperty("value")[1].GetString() is not ("NaN" or null)) ? null : "no data";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return "prometheus not answering: " + ex.Message;
        }
    }
}
