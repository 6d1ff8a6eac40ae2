using KestraServer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

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

await builder.Build().RunAsync();
return 0;
