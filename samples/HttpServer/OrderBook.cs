using System.Collections.Concurrent;

namespace HttpServer;

/// <summary>An in-memory stand-in for a shop's order database.</summary>
public sealed class OrderBook
{
    private readonly ConcurrentDictionary<string, Order> _orders = new(StringComparer.Ordinal)
    {
        ["o-1001"] = new("Ada", 12_000),
        ["o-1002"] = new("Grace", 4_500),
        ["o-1003"] = new("Linus", 80_000),
    };

    internal IReadOnlyList<string> List() => _orders.Keys.Order(StringComparer.Ordinal).ToArray();

    internal string? Describe(string id) =>
        _orders.TryGetValue(id, out var order) ? $"{id}: {order.Customer}, total {order.Total}, refunded {order.Refunded}" : null;

    internal string Refund(string id, long amount, string reason)
    {
        if (!_orders.TryGetValue(id, out var order))
        {
            throw new InvalidOperationException($"No order {id}.");
        }

        var refunded = order.AddRefund(amount);
        return $"Refunded {amount} on {id} ({reason}); {refunded} refunded in all.";
    }

    internal string Delete(string id) =>
        _orders.TryRemove(id, out _) ? $"Deleted {id}." : throw new InvalidOperationException($"No order {id}.");

    private sealed class Order(string customer, long total)
    {
        private long _refunded;

        public string Customer { get; } = customer;

        public long Total { get; } = total;

        public long Refunded => Interlocked.Read(ref _refunded);

        public long AddRefund(long amount) => Interlocked.Add(ref _refunded, amount);
    }
}
