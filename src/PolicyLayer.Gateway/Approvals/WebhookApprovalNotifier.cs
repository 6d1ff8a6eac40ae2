using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>Posts each held call, signed, to the configured webhook (as PolicyLayer JSON, or a Slack message).</summary>
internal sealed class WebhookApprovalNotifier(WebhookApproverOptions options, HttpClient http, TimeProvider time) : IApprovalNotifier
{
    // Slack refuses a section's text over 3,000 characters: longer arguments are named, not cut, and shown whole in the inbox.
    private const int SlackArgumentsLimit = 2800;

    private readonly byte[] _key = Encoding.UTF8.GetBytes(options.Secret!);

    public async ValueTask NotifyAsync(ApprovalRecord record, CancellationToken cancellationToken)
    {
        var body = options.SlackFormat ? Slack(record, options.CallbackUrl) : Plain(record, options.CallbackUrl);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Compute(_key, timestamp, body));
        using var timeout = new CancellationTokenSource(options.PostTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var response = await http.SendAsync(request, linked.Token).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    internal static byte[] Plain(ApprovalRecord record, Uri? callback) => Write(json =>
    {
        json.WriteStartObject();
        json.WriteString("type", "policylayer.approval.pending");
        json.WritePropertyName("approval");
        ApprovalRecordJson.Write(json, record);
        if (callback is not null)
        {
            json.WriteString("callbackUrl", callback.AbsoluteUri);
        }

        json.WriteEndObject();
    });

    internal static byte[] Slack(ApprovalRecord record, Uri? callback) => Write(json =>
    {
        var who = record.UserId ?? record.GrantId ?? record.AgentId ?? "an anonymous caller";
        var arguments = record.ArgumentsJson.Length <= SlackArgumentsLimit
            ? "```" + record.ArgumentsJson.Replace("```", "` ` `", StringComparison.Ordinal) + "```"
            : $"_The arguments are {record.ArgumentsJson.Length} characters long; see them whole in the approvals inbox._";
        json.WriteStartObject();
        json.WriteString("text", $"Approval needed: {record.ToolName} called by {who}. {record.Reason}");
        json.WriteStartArray("blocks");
        Section(json, $"*Approval needed:* `{record.ToolName}` called by *{who}*\n{record.Reason}\nRule: `{record.RuleId}`");
        Section(json, arguments);
        json.WriteStartObject();
        json.WriteString("type", "context");
        json.WriteStartArray("elements");
        json.WriteStartObject();
        json.WriteString("type", "mrkdwn");
        json.WriteString("text", $"Approval id `{record.Id}` · expires {record.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WritePropertyName("policylayer");
        ApprovalRecordJson.Write(json, record);
        if (callback is not null)
        {
            json.WriteString("callbackUrl", callback.AbsoluteUri);
        }

        json.WriteEndObject();
    });

    private static void Section(Utf8JsonWriter json, string markdown)
    {
        json.WriteStartObject();
        json.WriteString("type", "section");
        json.WriteStartObject("text");
        json.WriteString("type", "mrkdwn");
        json.WriteString("text", markdown);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer, ApprovalRecordJson.Options))
        {
            write(json);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
