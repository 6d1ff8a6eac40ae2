using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// The Tasks extension (ModelContextProtocol.Extensions.Tasks, not on this package mirror) is an alternate-result
/// call-tool filter appended to the pipeline: it creates a task, returns at once, and runs the rest of the
/// pipeline in the background with a new request context. This fake does the same, so the tests show that a
/// task-backed call is decided before its task is created, counted once, and given back when it fails.
/// </summary>
public sealed class TaskGatingTests
{
    private const string Policy = """
        {
          "version": "1",
          "tools": {
            "add_execution_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 1, "scope": "grant" } ] },
            "explode": { "limits": [ { "counter": "explode_rate", "window": "minute", "max": 1, "scope": "grant" } ] }
          }
        }
        """;

    [Test]
    public async Task TaskBackedCall_OfADeniedTool_IsRefusedBeforeAnyTaskIsCreated()
    {
        var tasks = new FakeTasksExtension();
        await using var host = new McpTestHost(Policy, beforePolicyLayer: tasks.Register);
        await using var client = await host.ConnectAsync();

        var result = await client.CallToolAsync("delete_flow", new Dictionary<string, object?> { ["namespace"] = "a", ["id"] = "b" });

        result.Text().Should().StartWith("[POLICY DENIED]");
        tasks.Created.Should().Be(0);
        host.Flows.Runs("delete_flow").Should().Be(0);
    }

    [Test]
    public async Task TaskBackedCall_Allowed_RunsInTheBackgroundAndIsCountedOnce()
    {
        var tasks = new FakeTasksExtension();
        await using var host = new McpTestHost(Policy, beforePolicyLayer: tasks.Register);
        await using var client = await host.ConnectAsync();

        var created = await client.LabelAsync();
        var outcome = await tasks.Completed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        created.Text().Should().Be("task created");
        outcome.IsError.Should().NotBe(true, outcome.Text());
        host.Flows.Runs("add_execution_labels").Should().Be(1);
        host.Store.Reservations.Should().Be(1);
        (await client.LabelAsync()).Text().Should().StartWith("[POLICY DENIED]", "the limit of 1 was used by the task");
    }

    [Test]
    public async Task TaskBackedCall_ToolFailsInTheBackground_GivesItsUnitBack()
    {
        var tasks = new FakeTasksExtension();
        var explode = McpServerTool.Create(() => { throw new InvalidOperationException("backend down"); }, new() { Name = "explode" });
        await using var host = new McpTestHost(Policy, beforePolicyLayer: tasks.Register, extraTools: [explode]);
        await using var client = await host.ConnectAsync();

        await client.CallToolAsync("explode");
        var outcome = await tasks.Completed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        outcome.IsError.Should().BeTrue();
        outcome.Text().Should().NotContain("POLICY DENIED");
        host.Store.Used("explode_rate", "grant-a").Should().Be(0);
        host.Store.Releases.Should().Be(1);
    }

    private sealed class FakeTasksExtension
    {
        private int _created;

        public int Created => _created;

        public TaskCompletionSource<CallToolResult> Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Register(IMcpServerBuilder builder) =>
            builder.Services.Configure<McpServerOptions>(options =>
                options.Filters.Request.CallToolWithAlternateFilters.Insert(
                    options.Filters.Request.CallToolWithAlternateFilters.Count,
                    (request, next, cancellationToken) =>
                    {
                        Interlocked.Increment(ref _created);
                        // Like the extension: the background run gets its own service scope, as the request's ends now.
                        var scope = request.Server.Services!.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
                        var background = new RequestContext<CallToolRequestParams>(request.Server, request.JsonRpcRequest, request.Params)
                        {
                            MatchedPrimitive = request.MatchedPrimitive,
                            Services = scope.ServiceProvider,
                        };
                        _ = Task.Run(async () =>
                        {
                            try
                            {
                                var r = await next(background, CancellationToken.None);
                                await scope.DisposeAsync();
                                Completed.TrySetResult(r.Result!);
                            }
                            catch (Exception ex)
                            {
                                Completed.TrySetException(ex);
                            }
                        }, CancellationToken.None);
                        return new ValueTask<ResultOrAlternate<CallToolResult>>(new CallToolResult { Content = [new TextContentBlock { Text = "task created" }] });
                    }));
    }
}
