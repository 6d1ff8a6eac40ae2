using Microsoft.Extensions.Logging.Abstractions;

namespace PolicyLayer.Gateway.Tests.Http;

/// <summary>The client side of an HTTP session: each answer reaches the POST that waits under its id, in the order the gateway read them.</summary>
public class HttpClientChannelTests
{
    [Test]
    public async Task TwoRequestsUnderOneId_GetTheirAnswersInTheOrderTheyWereRead()
    {
        var channel = new HttpClientChannel(16, NullLogger.Instance);
        var first = Request(1);
        var second = Request(1);
        await PostAndReadAsync(channel, first);
        await PostAndReadAsync(channel, second);
        var next = channel.ReadAsync(CancellationToken.None);

        await channel.WriteAsync(Answer(1, "one"), CancellationToken.None);
        await channel.WriteAsync(Answer(1, "two"), CancellationToken.None);

        channel.PendingRequests.Should().Be(0);
        first.TryRead(out var toFirst).Should().BeTrue();
        second.TryRead(out var toSecond).Should().BeTrue();
        System.Text.Encoding.UTF8.GetString(toFirst.Message).Should().Contain("one");
        System.Text.Encoding.UTF8.GetString(toSecond.Message).Should().Contain("two");
        toFirst.Final.Should().BeTrue();
        toSecond.Final.Should().BeTrue();
        channel.Close();
        (await next).Status.Should().Be(McpMessageReadStatus.End);
    }

    [Test]
    public async Task ThreeRequestsUnderOneId_WhileTheLastIsCurrent_TheCurrentOneIsAnsweredAndTheOthersKeepTheirOrder()
    {
        var channel = new HttpClientChannel(16, NullLogger.Instance);
        var exchanges = new[] { Request(7), Request(7), Request(7) };
        foreach (var exchange in exchanges)
        {
            await PostAndReadAsync(channel, exchange);
        }

        channel.PendingRequests.Should().Be(3);

        // Written while the gateway handles the last one read: its answer (or refusal), taken out of the middle of none.
        await channel.WriteAsync(Answer(7, "current"), CancellationToken.None);
        var next = channel.ReadAsync(CancellationToken.None);
        await channel.WriteAsync(Answer(7, "oldest"), CancellationToken.None);
        await channel.WriteAsync(Answer(7, "middle"), CancellationToken.None);

        channel.PendingRequests.Should().Be(0);
        Text(exchanges[2]).Should().Contain("current");
        Text(exchanges[0]).Should().Contain("oldest");
        Text(exchanges[1]).Should().Contain("middle");
        channel.Close();
        (await next).Status.Should().Be(McpMessageReadStatus.End);
    }

    [Test]
    public async Task ARequestAnsweredAfterTheGatewayReadOn_ReachesItsPost_AndNothingWaitsUnderItsIdAfterwards()
    {
        // The gateway's one reading loop: a read waits, a POST arrives, the gateway reads on, the answer comes back.
        var channel = new HttpClientChannel(16, NullLogger.Instance);
        var pending = channel.ReadAsync(CancellationToken.None);
        foreach (var text in new[] { "first", "second" })
        {
            var exchange = Request(1);
            (await channel.PostAsync(exchange, CancellationToken.None)).Should().BeTrue();
            (await pending).Status.Should().Be(McpMessageReadStatus.Message);
            pending = channel.ReadAsync(CancellationToken.None);
            channel.PendingRequests.Should().Be(1);

            await channel.WriteAsync(Answer(1, text), CancellationToken.None);

            Text(exchange).Should().Contain(text);
            channel.PendingRequests.Should().Be(0);
        }

        channel.Close();
        (await pending).Status.Should().Be(McpMessageReadStatus.End);
    }

    private static async Task PostAndReadAsync(HttpClientChannel channel, HttpExchange exchange)
    {
        (await channel.PostAsync(exchange, CancellationToken.None)).Should().BeTrue();
        var read = await channel.ReadAsync(CancellationToken.None);
        read.Status.Should().Be(McpMessageReadStatus.Message);
    }

    private static HttpExchange Request(int id)
    {
        var body = System.Text.Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/call","params":{"name":"echo"}}""");
        return new HttpExchange(body, tooLong: false, idKey: "n:" + id.ToString(System.Globalization.CultureInfo.InvariantCulture), id: body.AsMemory(22, 1), acceptsStream: false);
    }

    private static byte[] Answer(int id, string text) =>
        System.Text.Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":{{{id}}},"result":{"text":"{{{text}}}"}}""");

    private static string Text(HttpExchange exchange) =>
        exchange.TryRead(out var message) ? System.Text.Encoding.UTF8.GetString(message.Message) : "(nothing)";
}
