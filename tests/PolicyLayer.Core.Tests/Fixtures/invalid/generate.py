# Writes the invalid-policy fixtures and expected.json. A "§" in a template marks where the error is;
# the expected line and column come from the marker, never from the loader. Run: python3 generate.py
import json, os
out = os.path.dirname(os.path.abspath(__file__))
M = "§"
cases = [
("malformed-missing-comma", '{\n  "version": "1"\n  §"tools": {}\n}\n', "$", "Malformed JSON"),
("malformed-trailing-comma", '{\n  "version": "1",\n  "tools": {},\n§}\n', "$", "Malformed JSON"),
("malformed-unterminated", '{ "version": "1", "tools": { "a": {}§', "$.tools", "Malformed JSON"),
("root-is-array", '§[ { "version": "1" } ]\n', "$", "Expected a policy object"),
("missing-version", '§{\n  "default": "deny"\n}\n', "$", "Missing \"version\""),
("version-number", '{\n  "version": §1\n}\n', "$.version", "as a string"),
("version-unknown", '{\n  "version": §"2",\n  "tools": {}\n}\n', "$.version", "Supported versions: \"1\""),
("unknown-root-field", '{\n  "version": "1",\n  §"toolz": {}\n}\n', "$.toolz", "did you mean 'tools'"),
("typo-limits", '{\n  "version": "1",\n  "tools": {\n    "a": { §"limts": [] }\n  }\n}\n', "$.tools.a.limts", "did you mean 'limits'"),
("duplicate-key-root", '{\n  "version": "1",\n  "default": "deny",\n  §"default": "allow"\n}\n', "$.default", "Duplicate key"),
("duplicate-tool", '{\n  "version": "1",\n  "tools": {\n    "a": {},\n    §"a": { "action": "deny" }\n  }\n}\n', "$.tools.a", "Duplicate key"),
("default-unknown", '{\n  "version": "1",\n  "default": §"block"\n}\n', "$.default", "Unknown action"),
("default-wrong-type", '{\n  "version": "1",\n  "default": §false\n}\n', "$.default", "Unknown action"),
("hide-not-array", '{\n  "version": "1",\n  "hide": §"delete_*"\n}\n', "$.hide", "Expected an array"),
("hide-empty-entry", '{\n  "version": "1",\n  "hide": ["a", §""]\n}\n', "$.hide[1]", "empty string"),
("hide-number-entry", '{\n  "version": "1",\n  "hide": [§42]\n}\n', "$.hide[0]", "found the number 42"),
("tools-not-object", '{\n  "version": "1",\n  "tools": §[]\n}\n', "$.tools", "Expected an object of rules"),
("rule-not-object", '{\n  "version": "1",\n  "tools": { "a": §true }\n}\n', "$.tools.a", "Expected a rule object"),
("action-unknown", '{\n  "version": "1",\n  "tools": { "a": { "action": §"block" } }\n}\n', "$.tools.a.action", "Unknown action"),
("reason-not-string", '{\n  "version": "1",\n  "tools": { "a": { "action": "deny", "reason": §7 } }\n}\n', "$.tools.a.reason", "a string"),
("empty-tool-key", '{\n  "version": "1",\n  "tools": { §"": {} }\n}\n', "$.tools['']", "empty string"),
("require-not-array", '{\n  "version": "1",\n  "tools": { "a": { "require": §{} } }\n}\n', "$.tools.a.require", "an array of conditions"),
("condition-missing-op", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ §{ "path": "args.x", "value": 1 } ] } }\n}\n', "$.tools.a.deny_if[0]", "Missing \"op\""),
("condition-unknown-op", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "path": "args.x", "op": §"greater", "value": 1 } ] } }\n}\n', "$.tools.a.deny_if[0].op", "Unknown operator"),
("condition-path-no-args", '{\n  "version": "1",\n  "tools": { "a": { "require": [ { "path": §"amount", "op": "exists" } ] } }\n}\n', "$.tools.a.require[0].path", "must start with \"args.\""),
("condition-path-empty-segment", '{\n  "version": "1",\n  "tools": { "a": { "require": [ { "path": §"args.a..b", "op": "exists" } ] } }\n}\n', "$.tools.a.require[0].path", "empty segment"),
("condition-path-number", '{\n  "version": "1",\n  "tools": { "a": { "require": [ { "path": §3, "op": "exists" } ] } }\n}\n', "$.tools.a.require[0].path", "Expected a path"),
("condition-missing-path", '{\n  "version": "1",\n  "tools": { "a": { "require": [ §{ "op": "exists" } ] } }\n}\n', "$.tools.a.require[0]", "Missing \"path\""),
("in-without-list", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "path": "args.env", "op": "in", "value": §"prod" } ] } }\n}\n', "$.tools.a.deny_if[0].value", "list of values"),
("in-missing-value", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ §{ "path": "args.env", "op": "not_in" } ] } }\n}\n', "$.tools.a.deny_if[0]", "list of values"),
("gt-string-value", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "path": "args.n", "op": "gt", "value": §"10" } ] } }\n}\n', "$.tools.a.deny_if[0].value", "compares numbers"),
("regex-does-not-compile", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "path": "args.q", "op": "regex", "value": §"(unclosed" } ] } }\n}\n', "$.tools.a.deny_if[0].value", "does not compile"),
("regex-not-string", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "path": "args.q", "op": "regex", "value": §[1] } ] } }\n}\n', "$.tools.a.deny_if[0].value", "regular expression"),
("eq-missing-value", '{\n  "version": "1",\n  "tools": { "a": { "require": [ §{ "path": "args.q", "op": "eq" } ] } }\n}\n', "$.tools.a.require[0]", "needs \"value\""),
("exists-bad-value", '{\n  "version": "1",\n  "tools": { "a": { "require": [ { "path": "args.q", "op": "exists", "value": §"yes" } ] } }\n}\n', "$.tools.a.require[0].value", "true / false"),
("condition-unknown-field", '{\n  "version": "1",\n  "tools": { "a": { "require": [ { "path": "args.q", "op": "exists", §"vlaue": 1 } ] } }\n}\n', "$.tools.a.require[0].vlaue", "did you mean 'value'"),
("limit-max-zero", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": "minute", "max": §0 } ] } }\n}\n', "$.tools.a.limits[0].max", "positive whole number"),
("limit-max-negative", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": "minute", "max": §-5 } ] } }\n}\n', "$.tools.a.limits[0].max", "positive whole number"),
("limit-max-fraction", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": "minute", "max": §2.5 } ] } }\n}\n', "$.tools.a.limits[0].max", "positive whole number"),
("limit-max-string", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": "minute", "max": §"30" } ] } }\n}\n', "$.tools.a.limits[0].max", "positive whole number"),
("limit-missing-max", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ §{ "counter": "c", "window": "minute" } ] } }\n}\n', "$.tools.a.limits[0]", "Missing \"max\""),
("limit-missing-counter", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ §{ "window": "minute", "max": 3 } ] } }\n}\n', "$.tools.a.limits[0]", "Missing \"counter\""),
("limit-unknown-window", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": §"fortnight", "max": 3 } ] } }\n}\n', "$.tools.a.limits[0].window", "Unknown window"),
("limit-window-zero", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": §0, "max": 3 } ] } }\n}\n', "$.tools.a.limits[0].window", "Unknown window"),
("limit-window-bad-unit", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": §"5w", "max": 3 } ] } }\n}\n', "$.tools.a.limits[0].window", "Unknown window"),
("limit-window-too-long", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": §"400d", "max": 3 } ] } }\n}\n', "$.tools.a.limits[0].window", "366 days"),
("limit-unknown-scope", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": "minute", "max": 3, "scope": §"team" } ] } }\n}\n', "$.tools.a.limits[0].scope", "Unknown scope"),
("limit-increment-from-bad", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": "c", "window": "day", "max": 3, "increment_from": §"amount" } ] } }\n}\n', "$.tools.a.limits[0].increment_from", "must start with \"args.\""),
("deny-with-limits", '{\n  "version": "1",\n  "tools": { "a": { "action": "deny", §"limits": [ { "counter": "c", "window": "minute", "max": 3 } ] } }\n}\n', "$.tools.a.limits", "cannot have limits"),
("deny-with-rate-limit", '{\n  "version": "1",\n  "tools": { "a": { "action": "deny", §"rate_limit": { "max": 3, "window": 60 } } }\n}\n', "$.tools.a.rate_limit", "cannot have limits"),
("counter-defined-two-ways", '{\n  "version": "1",\n  "tools": {\n    "a": { "limits": [ { "counter": "shared", "window": "minute", "max": 3 } ] },\n    "b": { "limits": [ §{ "counter": "shared", "window": "hour", "max": 3 } ] }\n  }\n}\n', "$.tools.b.limits[0]", "defined two ways"),
("counter-two-scopes", '{\n  "version": "1",\n  "all_tools": { "limits": [ { "counter": "x", "window": "minute", "max": 3, "scope": "session" } ] },\n  "tools": { "a": { "limits": [ §{ "counter": "x", "window": "minute", "max": 3 } ] } }\n}\n', "$.tools.a.limits[0]", "defined two ways"),
("rate-limit-unknown-field", '{\n  "version": "1",\n  "tools": { "a": { "rate_limit": { "max": 3, "window": 60, §"burst": 2 } } }\n}\n', "$.tools.a.rate_limit.burst", "Unknown field 'burst'"),
("all-tools-unknown-field", '{\n  "version": "1",\n  "all_tools": { §"limit": [] }\n}\n', "$.all_tools.limit", "did you mean 'limits'"),
("risk-unknown-category", '{\n  "version": "1",\n  "risk": { §"dangerous": { "action": "deny" } }\n}\n', "$.risk.dangerous", "Unknown risk category"),
("risk-rule-bad-action", '{\n  "version": "1",\n  "risk": { "read": { "action": §"permit" } }\n}\n', "$.risk.read.action", "Unknown action"),
("classify-unknown-category", '{\n  "version": "1",\n  "classify": { "create_refund": §"money" }\n}\n', "$.classify.create_refund", "Expected a risk category"),
("schema-not-string", '{\n  "$schema": §1,\n  "version": "1"\n}\n', "$.$schema", "Expected a string"),
("too-deep", '{ "version": "1", "tools": { "a": { "deny_if": [ { "path": "args.x", "op": "eq", "value": ' + '['*59 + '§' + '['*11 + ']'*70 + ' } ] } } }', "$.tools.a.deny_if[0].value" + "[0]"*58, "deeper than 64 levels"),
("lone-surrogate-value", '{\n  "version": "1",\n  "hide": [§"\\uD800"]\n}\n', "$.hide[0]", "half a surrogate pair"),
("unicode-column", '{\n  "version": "1",\n  "tools": { "café_tool": { "action": "deny", "reason": "non", "x": 1, "limits": [] }, "é": { "action": §"nope" } }\n}\n', "$.tools['é'].action", "Unknown action"),
("predicate-unknown-field", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "conditions": [], §"reason": "x" } ] } }\n}\n', "$.tools.a.deny_if[0].reason", "Unknown field 'reason'"),
("predicate-conditions-not-array", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "conditions": §{}, "on_deny": "x" } ] } }\n}\n', "$.tools.a.deny_if[0].conditions", "an array of conditions"),
("predicate-condition-unknown-op", '{\n  "version": "1",\n  "tools": { "a": { "require": [ { "conditions": [ { "path": "args.x", "op": §"bigger", "value": 1 } ] } ] } }\n}\n', "$.tools.a.require[0].conditions[0].op", "Unknown operator"),
("on-deny-not-string", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "conditions": [], "on_deny": §5 } ] } }\n}\n', "$.tools.a.deny_if[0].on_deny", "a string"),
("caller-path-unknown", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "path": §"caller.role", "op": "eq", "value": "x" } ] } }\n}\n', "$.tools.a.deny_if[0].path", "Unknown caller path"),
("caller-numeric-op", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "path": "caller.claims.level", "op": §"gt", "value": 1 } ] } }\n}\n', "$.tools.a.deny_if[0].op", "compares numbers"),
("regex-backreference", '{\n  "version": "1",\n  "tools": { "a": { "deny_if": [ { "path": "args.q", "op": "regex", "value": §"(a+)\\\\1" } ] } }\n}\n', "$.tools.a.deny_if[0].value", "linear-time"),
("counter-reserved-name", '{\n  "version": "1",\n  "tools": { "a": { "limits": [ { "counter": §"/tools/b/rate_limit", "window": 60, "max": 3 } ] }, "b": { "rate_limit": { "max": 3, "window": 60 } } }\n}\n', "$.tools.a.limits[0].counter", "reserved"),
("counter-two-amounts", '{\n  "version": "1",\n  "all_tools": { "limits": [ { "counter": "spend", "window": "day", "max": 100, "increment_from": "args.amount" } ] },\n  "tools": { "a": { "limits": [ §{ "counter": "spend", "window": "day", "max": 100, "increment_from": "args.fee" } ] } }\n}\n', "$.tools.a.limits[0]", "one call counts a counter once"),
("revision-empty", '{\n  "version": "1",\n  "revision": §""\n}\n', "$.revision", "revision"),
]
expected = {}
names = set()
for name, template, path, fragment in cases:
    assert name not in names, name; names.add(name)
    if M in template:
        i = template.index(M)
        before = template[:i]
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        text = template.replace(M, "")
    else:
        text = template; line = None; col = None
    with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
        f.write(text)
    expected[name] = {"path": path, "line": line, "column": col, "contains": fragment}
with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
    json.dump(expected, f, indent=2, ensure_ascii=False)
print(len(cases))
