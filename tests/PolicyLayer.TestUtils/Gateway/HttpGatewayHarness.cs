using System.Collections.Concurrent;
using System.IO.Pipes;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PolicyLayer.Gateway;

namespace PolicyLayer.TestUtils.Gateway;

/// <summary>
/// The HTTP gateway on a free loopback port (Kestrel, <c>MapPolicyLayerGateway</c>), each session with its own
/// <see cref="FakeChild"/> behind it over OS pipes, and a client that speaks Streamable HTTP with
/// <see cref="HttpClient"/>: every POST's answer (JSON or event stream) and the GET stream feed one stream of lines.
/// </summary>
public sealed class HttpGatewayHarness : IGatewayTestClient
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(10);

    private readonly WebApplication _app;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Channel<string> _received = Channel.CreateUnbounded<string>();
    private readonly ConcurrentQueue<FakeChild> _children = new();
    private readonly List<IDisposable> _pipes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _sendLock = new();
    private Task _sending = Task.CompletedTask;
    private PipeConnection? _prepared;

    private HttpGatewayHarness(WebApplication app, string[] tools)
    {
        _app = app;
        Tools = tools;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Endpoint = new Uri(address.TrimEnd('/') + "/mcp");
    }

    public Uri Endpoint { get; }

    /// <summary>The tools each new session's child lists.</summary>
    public string[] Tools { get; }

    /// <summary>The bearer token sent with every request; none when <see langword="null"/>.</summary>
    public string? Token { get; set; }

    /// <summary>Whether <see cref="InitializeAsync"/> opens the GET stream (an open stream keeps a session from going idle).</summary>
    public bool OpenGetStream { get; set; } = true;

    /// <summary>The session the harness opened (from the initialize answer's header).</summary>
    public string? SessionId { get; private set; }

    /// <summary>Every child started, one per session.</summary>
    public IReadOnlyCollection<FakeChild> Children => _children;

    /// <summary>The child of the session the harness opened; before it opens, the one the next session gets (so that a test can script it first).</summary>
    public FakeChild Child => _children.LastOrDefault() ?? Prepared.Child;

    public McpGatewaySession Gateway => Host.Sessions.Open.Single(s => s.Id == SessionId).Gateway;

    /// <summary>How many sessions the gateway has open.</summary>
    public int OpenSessions => Host.Sessions.Count;

    /// <summary>Whether no session has a request open (each may be timed out as idle from now on).</summary>
    public bool NoRequestOpen => Host.Sessions.Open.All(s => s.IsIdle(TimeSpan.Zero));

    internal GatewayHost Host => _app.Services.GetRequiredService<GatewayHost>();

    /// <summary>The status codes of the POSTs sent so far, in the order they were answered.</summary>
    public ConcurrentQueue<HttpStatusCode> Statuses { get; } = new();

    /// <summary>Starts a gateway with the harness's policy, a trusted grant (no credentials needed) unless <paramref name="configure"/> says otherwise.</summary>
    public static async Task<HttpGatewayHarness> StartAsync(
        string policy = GatewayHarness.Policy,
        Action<PolicyLayerGatewayOptions>? configure = null,
        string[]? tools = null,
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? beforeMap = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        // Kestrel as `policylayer proxy --listen` runs it (inline scheduling), so that every test runs the gateway that way.
        builder.WebHost.UseGatewaySockets();
        builder.Logging.ClearProviders();
        builder.Services.AddPolicyLayer(o => o.Policy = PolicyDocument.Parse(policy));
        HttpGatewayHarness? harness = null;
        builder.Services.AddPolicyLayerGateway(o =>
        {
            o.TrustedGrant = "local";
            o.Upstream = new DelegateUpstream("fake child", (_, _) => ValueTask.FromResult<UpstreamConnection>(harness!.NewChild()));
            configure?.Invoke(o);
        });
        services?.Invoke(builder.Services);
        var app = builder.Build();
        beforeMap?.Invoke(app);
        app.MapPolicyLayerGateway("/mcp");
        await app.StartAsync();
        harness = new HttpGatewayHarness(app, tools ?? GatewayHarness.DefaultTools);
        return harness;
    }

    public void Send(string line)
    {
        foreach (var one in line.Split('\n'))
        {
            SendBytes(Encoding.UTF8.GetBytes(one));
        }
    }

    public void SendBytes(byte[] bytes)
    {
        var body = bytes.AsSpan().TrimEnd((byte)'\n').ToArray();
        lock (_sendLock)
        {
            // In order: each message is queued for the gateway before the next is sent.
            var previous = _sending;
            _sending = Task.Run(async () =>
            {
                await previous;
                var posted = Host.Sessions.MessagesPosted;
                var exchange = PostAsync(body);
                while (Host.Sessions.MessagesPosted == posted && !exchange.IsCompleted)
                {
                    await Task.Delay(1);
                }
            });
        }
    }

    /// <summary>POSTs one message and returns the response, unread (the test reads it).</summary>
    public async Task<HttpResponseMessage> PostRawAsync(string body, Action<HttpRequestMessage>? change = null)
    {
        using var request = NewRequest(HttpMethod.Post);
        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        change?.Invoke(request);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
    }

    public async Task<string> ReceiveLineAsync()
    {
        using var timeout = new CancellationTokenSource(LineTimeout);
        return await _received.Reader.ReadAsync(timeout.Token);
    }

    public async Task<JsonElement> ReceiveAsync() => JsonDocument.Parse(await ReceiveLineAsync()).RootElement;

    public async Task<JsonElement> RequestAsync(string line)
    {
        Send(line);
        return await ReceiveAsync();
    }

    public async Task<JsonElement> InitializeAsync(string? clientName = "test-client", bool elicitation = false)
    {
        var answer = await RequestAsync(GatewayHarness.InitializeRequest(clientName, elicitation));
        Send(GatewayHarness.InitializedNotification);
        await _sending;
        if (OpenGetStream)
        {
            _ = ListenAsync();
        }

        return answer;
    }

    public async Task SyncAsync(string id = "\"sync\"")
    {
        Send($$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"ping"}""");
        var answer = await ReceiveAsync();
        answer.GetProperty("id").GetRawText().Should().Be(id);
    }

    /// <summary>Ends the session with DELETE.</summary>
    public async Task<HttpStatusCode> DeleteAsync()
    {
        using var request = NewRequest(HttpMethod.Delete);
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _app.StopAsync().GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _http.Dispose();
        foreach (var pipe in _pipes)
        {
            pipe.Dispose();
        }
    }

    private async Task PostAsync(byte[] body)
    {
        using var request = NewRequest(HttpMethod.Post);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            if (response.Headers.TryGetValues("Mcp-Session-Id", out var session))
            {
                SessionId = session.First();
            }

            Statuses.Enqueue(response.StatusCode);
            await ReadAsync(response);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
        {
            // The harness is stopping.
        }
    }

    private async Task ListenAsync()
    {
        using var request = NewRequest(HttpMethod.Get);
        request.Headers.Accept.Clear();
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            await ReadAsync(response);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
        {
            // The harness is stopping.
        }
    }

    private async Task ReadAsync(HttpResponseMessage response)
    {
        var stream = await response.Content.ReadAsStreamAsync(_stop.Token);
        using var reader = new StreamReader(stream, new UTF8Encoding(false));
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    await _received.Writer.WriteAsync(line[6..]);
                }
            }

            return;
        }

        var text = await reader.ReadToEndAsync(_stop.Token);
        if (text.Length > 0)
        {
            await _received.Writer.WriteAsync(text);
        }
    }

    private HttpRequestMessage NewRequest(HttpMethod method)
    {
        var request = new HttpRequestMessage(method, Endpoint);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (SessionId is not null)
        {
            request.Headers.Add("Mcp-Session-Id", SessionId);
        }

        if (Token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        }

        return request;
    }

    private PipeConnection Prepared
    {
        get
        {
            lock (_pipes)
            {
                return _prepared ??= CreateChild();
            }
        }
    }

    private PipeConnection NewChild()
    {
        PipeConnection connection;
        lock (_pipes)
        {
            connection = _prepared ?? CreateChild();
            _prepared = null;
        }

        _children.Enqueue(connection.Child);

        // As a stdio server does, the child ends its output when its input ends.
        _ = connection.Child.Loop.ContinueWith(_ => connection.Child.CloseOutput(), TaskScheduler.Default);
        return connection;
    }

    private PipeConnection CreateChild()
    {
        var childWrites = new AnonymousPipeServerStream(PipeDirection.Out);
        var childReads = new AnonymousPipeServerStream(PipeDirection.In);
        var toChild = new AnonymousPipeClientStream(PipeDirection.Out, childReads.ClientSafePipeHandle);
        var fromChild = new AnonymousPipeClientStream(PipeDirection.In, childWrites.ClientSafePipeHandle);
        lock (_pipes)
        {
            _pipes.Add(childWrites);
            _pipes.Add(childReads);
        }

        var child = new FakeChild(childReads, childWrites) { Tools = Tools };
        return new PipeConnection(McpMessageChannels.Stdio(fromChild, toChild), child);
    }

    /// <summary>The fake child's pipes: closing the gateway's side of its input makes it end its output, as a server does.</summary>
    private sealed class PipeConnection(IMcpMessageChannel channel, FakeChild child) : UpstreamConnection
    {
        public override IMcpMessageChannel Channel => channel;

        public FakeChild Child => child;

        public override async ValueTask DisposeAsync()
        {
            await channel.CompleteAsync();
            child.CloseOutput();
        }
    }
}
