namespace PolicyLayer.Testing.Tests;

internal static class TestPolicies
{
    public const string Shop = """
        {
          "version": "1",
          "default": "deny",
          "hide": ["drop_database"],
          "tools": {
            "add_execution_labels": {
              "limits": [ { "counter": "labels", "window": "minute", "max": 30, "scope": "grant" } ]
            },
            "create_refund": {
              "require": [ { "path": "args.reason", "op": "exists" } ],
              "deny_if": [ { "path": "args.amount", "op": "gt", "value": 10000, "reason": "Refunds over 100.00 are done by people." } ],
              "require_approval_if": [ { "path": "args.amount", "op": "gt", "value": 5000 } ]
            },
            "list_*": {},
            "delete_*": { "action": "deny", "reason": "Deleting is done by people, not agents." },
            "execute_flow": { "action": "require_approval", "reason": "Runs a production workflow." }
          },
          "classify": { "create_refund": "financial", "purge_*": "destructive" }
        }
        """;
}
