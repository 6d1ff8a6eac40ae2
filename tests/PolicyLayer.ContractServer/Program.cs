using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PolicyLayer.ContractServer;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddSingleton(new ContractLog(Console.Error));
builder.Services.AddMcpServer()
    .WithStdioServerTransport()
    .WithTools<ContractTools>();
await builder.Build().RunAsync();
