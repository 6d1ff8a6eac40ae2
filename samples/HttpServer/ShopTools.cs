using System.ComponentModel;
using ModelContextProtocol.Server;

namespace HttpServer;

/// <summary>Shop tools over an in-memory order book; refunds are recorded, never paid.</summary>
[McpServerToolType]
public sealed class ShopTools(OrderBook orders)
{
    [McpServerTool(Name = "list_orders", ReadOnly = true), Description("List the ids of the shop's orders.")]
    public IReadOnlyList<string> ListOrders() => orders.List();

    [McpServerTool(Name = "get_order", ReadOnly = true), Description("Get one order: customer, total in cents, refunds so far.")]
    public string GetOrder([Description("The order id, such as o-1001.")] string id) =>
        orders.Describe(id) ?? throw new InvalidOperationException($"No order {id}.");

    [McpServerTool(Name = "create_refund", Destructive = false), Description("Refund part of an order to the customer.")]
    public string CreateRefund(
        [Description("The order id.")] string orderId,
        [Description("The amount in cents.")] long amount,
        [Description("Why the customer is refunded.")] string reason) =>
        orders.Refund(orderId, amount, reason);

    [McpServerTool(Name = "delete_order", Destructive = true), Description("Delete an order and its history.")]
    public string DeleteOrder([Description("The order id.")] string id) => orders.Delete(id);
}
