using System.Runtime.CompilerServices;

namespace PolicyLayer.Gateway.Tests.Http;

/// <summary>The outbox of one POST: what the gateway routes back to the request handler, in order, bounded, and cheap for one JSON answer.</summary>
public class HttpExchangeTests
{
    private static readonly byte[] Answer = """{"jsonrpc":"2.0","id":1,"result":{}}"""u8.ToArray();

    [Test]
    public async Task TheAnswer_ResumesTheWaitingHandler_OnTheThreadThatDeliversIt()
    {
        var exchange = NewExchange();

        // The handler's await, taken apart so the continuation is registered before the answer can arrive:
        // a handler still on its way to the await would resume on its own thread whatever the exchange does.
        var awaiter = AwaiterOf(exchange.WaitToReadAsync(CancellationToken.None));
        awaiter.IsCompleted.Should().BeFalse("nothing has been delivered yet");
        var resumed = new TaskCompletionSource<(int Thread, bool More)>(TaskCreationOptions.RunContinuationsAsynchronously);
        awaiter.UnsafeOnCompleted(() => resumed.SetResult((Environment.CurrentManagedThreadId, awaiter.GetResult())));

        var deliveredOn = -1;
        var deliverer = new Thread(() =>
        {
            deliveredOn = Environment.CurrentManagedThreadId;
            exchange.DeliverAsync(Answer, final: true).AsTask().GetAwaiter().GetResult();
        });
        deliverer.Start();
        deliverer.Join();

        var (resumedOn, more) = await resumed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        more.Should().BeTrue();
        resumedOn.Should().Be(deliveredOn, "the handler writes the answer on the thread that has it, with no thread-pool hop");
        exchange.TryRead(out var first).Should().BeTrue();
        first.Final.Should().BeTrue();
        first.Message.Should().BeSameAs(Answer);
    }

    [Test]
    public async Task Messages_AreReadInOrder_AndTheFinalOneEndsTheExchange()
    {
        var exchange = NewExchange();
        byte[][] sent = [[1], [2], [3]];

        await exchange.DeliverAsync(sent[0], final: false);
        await exchange.DeliverAsync(sent[1], final: false);
        await exchange.DeliverAsync(sent[2], final: true);
        await exchange.DeliverAsync([4], final: false);

        var read = new List<OutgoingMessage>();
        await foreach (var message in exchange.ReadAllAsync(CancellationToken.None))
        {
            read.Add(message);
        }

        read.Select(m => m.Message).Should().Equal(sent);
        read.Select(m => m.Final).Should().Equal(false, false, true);
        exchange.IsOpen.Should().BeFalse();
    }

    [Test]
    public async Task AFullOutbox_MakesTheWriterWait_UntilTheHandlerTakesAMessage()
    {
        var exchange = NewExchange(capacity: 2);
        await exchange.DeliverAsync([1], final: false);
        exchange.TryDeliver([2]).Should().BeTrue();
        exchange.TryDeliver([9]).Should().BeFalse("the outbox holds two");

        var third = exchange.DeliverAsync([3], final: false).AsTask();
        await Task.Delay(50);
        third.IsCompleted.Should().BeFalse("the writer waits for room");

        exchange.TryRead(out var first).Should().BeTrue();
        first.Message.Should().Equal(1);
        await third.WaitAsync(TimeSpan.FromSeconds(10));

        exchange.TryRead(out var second).Should().BeTrue();
        exchange.TryRead(out var last).Should().BeTrue();
        new[] { second.Message[0], last.Message[0] }.Should().Equal(2, 3);
    }

    [Test]
    public async Task Complete_ReleasesAWaitingWriter_WhoseMessageIsDropped_AndEndsTheHandlersWait()
    {
        var exchange = NewExchange(capacity: 1);
        await exchange.DeliverAsync([1], final: false);
        var blocked = exchange.DeliverAsync([2], final: false).AsTask();

        exchange.Complete();
        await blocked.WaitAsync(TimeSpan.FromSeconds(10));

        exchange.TryRead(out var kept).Should().BeTrue();
        kept.Message.Should().Equal(1);
        exchange.TryRead(out _).Should().BeFalse("the message of the released writer is dropped");
        (await exchange.WaitToReadAsync(CancellationToken.None)).Should().BeFalse();
    }

    [Test]
    public async Task Complete_WhileTheHandlerWaits_EndsItsWaitWithNoMessage()
    {
        var exchange = NewExchange();
        var waiting = exchange.WaitToReadAsync(CancellationToken.None).AsTask();
        waiting.IsCompleted.Should().BeFalse();

        exchange.Complete();

        (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeFalse();
    }

    [Test]
    public async Task TheClientGoingAway_EndsTheHandlersWait_AndAWaitAfterItStillGetsTheAnswer()
    {
        var exchange = NewExchange();
        using var aborted = new CancellationTokenSource();
        var waiting = exchange.WaitToReadAsync(aborted.Token).AsTask();

        await aborted.CancelAsync();

        var cancelled = async () => await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        (await cancelled.Should().ThrowAsync<OperationCanceledException>()).Which.CancellationToken.Should().Be(aborted.Token);
        var again = exchange.WaitToReadAsync(CancellationToken.None).AsTask();
        await exchange.DeliverAsync(Answer, final: true);
        (await again.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
    }

    [Test]
    public async Task ManyMessagesFromAnotherThread_AllArrive_InOrder()
    {
        var exchange = NewExchange(capacity: 4);
        const int Count = 5_000;
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i++)
            {
                await exchange.DeliverAsync(BitConverter.GetBytes(i), final: i == Count - 1);
            }
        });

        var next = 0;
        await foreach (var message in exchange.ReadAllAsync(CancellationToken.None))
        {
            BitConverter.ToInt32(message.Message).Should().Be(next++);
        }

        await writer;
        next.Should().Be(Count);
    }

    [Test]
    public async Task OneJsonAnswer_AllocatesLittleBeyondTheExchange_NoChannel()
    {
        // Warm: the first round pays for JIT and statics.
        (await OneAnswerAsync()).Should().BeTrue();

        var before = GC.GetAllocatedBytesForCurrentThread();
        var answered = await OneAnswerAsync();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        answered.Should().BeTrue();
        // The exchange and its lock (416 B measured); a bounded Channel per exchange, as it was, added its reader,
        // writer, queue and their waiters to that.
        allocated.Should().BeLessThan(512);
    }

    private static async ValueTask<bool> OneAnswerAsync()
    {
        // The handler waits, the answer arrives, the handler reads it.
        var exchange = NewExchange();
        var waiting = exchange.WaitToReadAsync(CancellationToken.None);
        await exchange.DeliverAsync(Answer, final: true);
        return await waiting && exchange.TryRead(out var answer) && answer.Final;
    }

    private static ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter AwaiterOf(ValueTask<bool> wait) =>
        wait.ConfigureAwait(false).GetAwaiter();

    private static HttpExchange NewExchange(int capacity = 64) =>
        new(Answer, tooLong: false, idKey: "1", id: Answer.AsMemory(22, 1), acceptsStream: true, capacity);
}
