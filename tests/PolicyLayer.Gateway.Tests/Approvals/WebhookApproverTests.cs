using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway.Tests.Approvals;

/// <summary>
/// The webhook approver against a local HTTP receiver: each held call is posted signed; the answer comes back on the
/// signed callback, and a forged, stale or replayed callback changes nothing.
/// </summary>
public sealed class WebhookApproverTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef-test-secret";

    [Test]
    public async Task HeldCall_IsPostedToTheReceiver_SignedWithTheSharedSecret()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var host = await ApprovalsWebHost.StartAsync(s => s.AddPolicyLayerWebhookApprover(o => { o.Url = receiver.Address; o.Secret = Secret; }));

        var (record, _) = await ApprovalsInboxHttpTests.HoldAsync(host);
        var post = await receiver.Posts.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));

        var timestamp = post.Headers["X-PolicyLayer-Timestamp"];
        post.Headers["X-PolicyLayer-Signature"].Should().Be(Sign(Secret, timestamp, post.Body), "the receiver can check the post came from us");
        using var json = JsonDocument.Parse(post.Body);
        json.RootElement.GetProperty("type").GetString().Should().Be("policylayer.approval.pending");
        json.RootElement.GetProperty("approval").GetProperty("id").GetString().Should().Be(record!.Id);
        json.RootElement.GetProperty("approval").GetProperty("arguments").GetString().Should().Contain("duplicate charge");
    }

    [Test]
    public async Task SlackFormat_PostsAMessageWithTextAndBlocks_AndTheRecord()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var host = await ApprovalsWebHost.StartAsync(s => s.AddPolicyLayerWebhookApprover(o => { o.Url = receiver.Address; o.Secret = Secret; o.SlackFormat = true; }));

        var (record, _) = await ApprovalsInboxHttpTests.HoldAsync(host);
        var post = await receiver.Posts.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));

        using var json = JsonDocument.Parse(post.Body);
        json.RootElement.GetProperty("text").GetString().Should().Contain("create_refund").And.Contain("ann");
        json.RootElement.GetProperty("blocks")[0].GetProperty("type").GetString().Should().Be("section");
        json.RootElement.GetProperty("blocks")[1].GetProperty("text").GetProperty("text").GetString().Should().Contain("duplicate charge");
        json.RootElement.GetProperty("policylayer").GetProperty("id").GetString().Should().Be(record!.Id);
    }

    [Test]
    public async Task SignedCallback_Approves_AndTheSameCallbackReplayedIsRefused()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var host = await ApprovalsWebHost.StartAsync(s => s.AddPolicyLayerWebhookApprover(o => { o.Url = receiver.Address; o.Secret = Secret; }));
        var (record, _) = await ApprovalsInboxHttpTests.HoldAsync(host);
        using var http = new HttpClient { BaseAddress = host.Address };
        var body = Callback(record!.Id, "approve", "alice@chat", "fine");
        var timestamp = Now();

        using var first = await PostAsync(http, body, timestamp, Sign(Secret, timestamp, body));
        using var replay = await PostAsync(http, body, timestamp, Sign(Secret, timestamp, body));

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        replay.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await replay.Content.ReadAsStringAsync()).Should().Contain("replayed");
        var stored = await host.Inbox.Store.GetAsync(record.Id);
        stored!.Status.Should().Be(ApprovalStatus.Approved);
        stored.DecidedBy.Should().Be("webhook:alice@chat");
        stored.Note.Should().Be("fine");
    }

    [Test]
    public async Task SecondSignedCallbackForAnAnsweredRecord_IsRefused()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var host = await ApprovalsWebHost.StartAsync(s => s.AddPolicyLayerWebhookApprover(o => { o.Url = receiver.Address; o.Secret = Secret; }));
        var (record, _) = await ApprovalsInboxHttpTests.HoldAsync(host);
        using var http = new HttpClient { BaseAddress = host.Address };
        var deny = Callback(record!.Id, "deny", "alice@chat", null);
        var approve = Callback(record.Id, "approve", "mallory@chat", null);
        var timestamp = Now();

        using var first = await PostAsync(http, deny, timestamp, Sign(Secret, timestamp, deny));
        using var second = await PostAsync(http, approve, timestamp, Sign(Secret, timestamp, approve));

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await host.Inbox.Store.GetAsync(record.Id))!.Status.Should().Be(ApprovalStatus.Denied);
    }

    [TestCase("forged", TestName = "Callback_SignedWithAnotherSecret_IsRefusedAndChangesNothing")]
    [TestCase("unsigned", TestName = "Callback_WithoutASignature_IsRefusedAndChangesNothing")]
    [TestCase("stale", TestName = "Callback_WithAStaleTimestamp_IsRefusedAndChangesNothing")]
    [TestCase("tampered", TestName = "Callback_WhoseBodyWasChangedAfterSigning_IsRefusedAndChangesNothing")]
    public async Task BadCallback_IsRefused_AndChangesNothing(string kind)
    {
        await using var receiver = await Receiver.StartAsync();
        await using var host = await ApprovalsWebHost.StartAsync(s => s.AddPolicyLayerWebhookApprover(o => { o.Url = receiver.Address; o.Secret = Secret; }));
        var (record, _) = await ApprovalsInboxHttpTests.HoldAsync(host);
        using var http = new HttpClient { BaseAddress = host.Address };
        var body = Callback(record!.Id, "approve", "mallory", null);
        var timestamp = kind == "stale" ? Now() - 3600 : Now();
        var signature = kind switch
        {
            "forged" => Sign("another-secret-that-is-long-enough-000000", timestamp, body),
            "unsigned" => null,
            "tampered" => Sign(Secret, timestamp, Callback("apr_other", "approve", "mallory", null)),
            _ => Sign(Secret, timestamp, body),
        };

        using var response = await PostAsync(http, body, timestamp, signature);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await host.Inbox.Store.GetAsync(record.Id))!.Status.Should().Be(ApprovalStatus.Pending);
    }

    private static long Now() => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();

    private static byte[] Callback(string id, string decision, string decidedBy, string? note) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string?> { ["id"] = id, ["decision"] = decision, ["decidedBy"] = decidedBy, ["note"] = note });

    private static string Sign(string secret, long timestamp, byte[] body) => Sign(secret, timestamp.ToString(CultureInfo.InvariantCulture), body);

    // Written out here, as a receiver would write it from the README, rather than calling the library's own signer.
    private static string Sign(string secret, string timestamp, byte[] body) =>
        "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes("v1:" + timestamp + ":").Concat(body).ToArray()));

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, byte[] body, long timestamp, string? signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/approvals/callback", UriKind.Relative)) { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-PolicyLayer-Timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        if (signature is not null)
        {
            request.Headers.Add("X-PolicyLayer-Signature", signature);
        }

        return await http.SendAsync(request);
    }

    private sealed record Post(Dictionary<string, string> Headers, byte[] Body);

    /// <summary>A local HTTP receiver that records every post.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Receiver(WebApplication app, Uri address)
        {
            _app = app;
            Address = address;
        }

        public Uri Address { get; }

        public Channel<Post> Posts { get; } = Channel.CreateUnbounded<Post>();

        public static async Task<Receiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            Receiver? receiver = null;
            app.MapPost("/hook", async context =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
                receiver!.Posts.Writer.TryWrite(new Post(headers, body.ToArray()));
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            receiver = new Receiver(app, new Uri(new Uri(address), "/hook"));
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
