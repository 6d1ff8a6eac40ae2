using KestraServer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using PolicyLayer;

if (args.Contains("--demo"))
{
    return await Demo.RunAsync(args);
}

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace); // stdout carries MCP messages
builder.Services.AddSingleton<FlowStore>();

builder.Services.AddMcpServer()
    .WithStdioServerTransport()
    .WithTools<KestraTools>()
    .WithPolicyLayer(options =>
    {
        options.PolicyPath = builder.Configuration["policy"]
            ?? Path.Combine(AppContext.BaseDirectory, "policies", "kestra.policy.json");
        // A stdio server has one caller: the credential it was started with is the grant.
        options.DefaultGrantId = Environment.GetEnvironmentVariable("KESTRA_GRANT") ?? "local";
    });

// --otel (or POLICYLAYER_OTEL=1): PolicyLayer's decisions as OpenTelemetry traces and metrics, on the console
// exporter. Its Console.Out goes to stderr: stdout carries MCP messages (the SDK writes them to the raw stream).
if (args.Contains("--otel") || Environment.GetEnvironmentVariable("POLICYLAYER_OTEL") == "1")
{
    Console.SetOut(Console.Error);
    builder.Logging.SetMinimumLevel(LogLevel.Debug);
    builder.Services.AddOpenTelemetry()
        .WithTracing(tracing => tracing.AddSource(PolicyLayerTelemetry.ActivitySourceName).AddConsoleExporter())
        .WithMetrics(metrics => metrics.AddMeter(PolicyLayerTelemetry.MeterName).AddConsoleExporter(
            (_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 5_000));
}

await builder.Build().RunAsync();
return 0;
