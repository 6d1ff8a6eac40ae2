using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PolicyLayer.Policies;

namespace PolicyLayer.Gateway;

/// <summary>
/// A grants file: bearer tokens, stored as the lowercase hex of their SHA-256, mapped to a grant id and optionally a
/// policy file of the grant's own (relative paths are relative to the grants file). A token is looked up by its hash,
/// so the file holds nothing that would let its reader call the gateway. When watched, each grant's policy file is
/// polled and a valid new version put in force for that grant (the file is the unit: grants that name the same file
/// share one evaluator and one watcher).
/// </summary>
/// <remarks>
/// <code>
/// { "grants": [ { "token_sha256": "9f86d0…", "grant": "team-a", "policy": "team-a.policy.json" } ] }
/// </code>
/// </remarks>
internal sealed class GrantTokens : IDisposable
{
    /// <summary>How many tokens the cache of recently presented valid tokens holds at most.</summary>
    internal const int CachedTokens = 64;

    private readonly Dictionary<string, Grant> _byHash;
    private readonly List<PolicyFileWatcher> _watchers;

    /// <summary>
    /// Valid tokens seen lately, so that a client's every request does not cost a SHA-256: one slot per hash of the token
    /// (the runtime's string hash, seeded per process), a slot overwritten by the next valid token that falls in it. Only
    /// tokens of the file get in, so no client can fill it; the token is compared in constant time.
    /// </summary>
    private readonly CachedToken?[] _recent = new CachedToken?[CachedTokens];

    private GrantTokens(Dictionary<string, Grant> byHash, List<PolicyFileWatcher> watchers)
    {
        _byHash = byHash;
        _watchers = watchers;
    }

    /// <summary>How many grants the file holds.</summary>
    public int Count => _byHash.Count;

    /// <summary>The lowercase hex SHA-256 of a token, as the grants file stores it.</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));

    /// <summary>The grant a token names, or <see langword="null"/>.</summary>
    /// <remarks>A span (the header's text after <c>Bearer </c>): a token seen before is found without a string of its own.</remarks>
    public Grant? Find(ReadOnlySpan<char> token)
    {
        var slot = (int)((uint)string.GetHashCode(token, StringComparison.Ordinal) % CachedTokens);
        if (Volatile.Read(ref _recent[slot]) is { } cached
            && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(cached.Token.AsSpan()), MemoryMarshal.AsBytes(token)))
        {
            return cached.Grant;
        }

        var text = token.ToString();
        if (_byHash.GetValueOrDefault(Hash(text)) is not { } grant)
        {
            return null;
        }

        Volatile.Write(ref _recent[slot], new CachedToken(text, grant));
        return grant;
    }

    /// <summary>How many of the recently seen tokens the cache holds (for tests).</summary>
    internal int CachedCount => _recent.Count(static c => c is not null);

    /// <summary>Loads a grants file; each grant's policy is loaded into an evaluator of its own on <paramref name="defaultEvaluator"/>'s counter store.</summary>
    /// <param name="path">The grants file.</param>
    /// <param name="defaultEvaluator">The gateway's evaluator: grants without a policy of their own use it.</param>
    /// <param name="timeProvider">The clock of the grants' evaluators and of the watchers' polls.</param>
    /// <param name="watchInterval">When set, each per-grant policy file is watched, polled at this interval.</param>
    /// <param name="logger">Where the watchers report reloads and refused versions.</param>
    /// <exception cref="InvalidDataException">The file is not a valid grants file; the message names the entry and what is wrong.</exception>
    public static GrantTokens Load(string path, PolicyEvaluator defaultEvaluator, TimeProvider timeProvider, TimeSpan? watchInterval = null, ILogger? logger = null)
    {
        var watchers = new List<PolicyFileWatcher>();
        try
        {
            return new GrantTokens(Read(path, defaultEvaluator, timeProvider, watchInterval, logger, watchers), watchers);
        }
        catch
        {
            watchers.ForEach(w => w.Dispose());
            throw;
        }
    }

    /// <summary>Stops watching the grants' policy files.</summary>
    public void Dispose() => _watchers.ForEach(w => w.Dispose());

    private static Dictionary<string, Grant> Read(string path, PolicyEvaluator defaultEvaluator, TimeProvider timeProvider, TimeSpan? watchInterval, ILogger? logger, List<PolicyFileWatcher> watchers)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = false, MaxDepth = 16 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("grants", out var grants) || grants.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{path}: a grants file is an object with a \"grants\" array.");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var evaluators = new Dictionary<string, PolicyEvaluator>(StringComparer.Ordinal);
        var byHash = new Dictionary<string, Grant>(StringComparer.Ordinal);
        var index = 0;
        foreach (var entry in grants.EnumerateArray())
        {
            var where = $"{path}: grants[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{where}: each grant is an object.");
            }

            foreach (var member in entry.EnumerateObject())
            {
                if (member.Name is not ("token_sha256" or "grant" or "policy" or "user"))
                {
                    throw new InvalidDataException($"{where}: unknown field \"{member.Name}\" (known: token_sha256, grant, user, policy).");
                }
            }

            var hash = Text(entry, "token_sha256", where, required: true)!;
            if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigitLower))
            {
                throw new InvalidDataException($"{where}.token_sha256: 64 lowercase hex digits (the SHA-256 of the token; `policylayer grants add` writes it).");
            }

            var grantId = Text(entry, "grant", where, required: true)!;
            var user = Text(entry, "user", where, required: false);
            var evaluator = defaultEvaluator;
            if (Text(entry, "policy", where, required: false) is { } policyPath)
            {
                var full = Path.GetFullPath(Path.Combine(directory, policyPath));
                if (!evaluators.TryGetValue(full, out evaluator))
                {
                    PolicyDocument policy;
                    PolicyFileWatcher? watcher = null;
                    try
                    {
                        if (watchInterval is { } interval)
                        {
                            watcher = new PolicyFileWatcher(full, interval, timeProvider, logger);
                            watchers.Add(watcher);
                            policy = watcher.Initial;
                        }
                        else
                        {
                            policy = PolicyDocument.Load(full);
                        }
                    }
                    catch (PolicyValidationException ex)
                    {
                        throw new InvalidDataException($"{where}.policy: {full} does not load: {ex.Errors[0].Path}: {ex.Errors[0].Message}", ex);
                    }

                    // One counter store for every grant's policy: limits are shared where counters are named alike, and a
                    // Redis store keeps them across gateway instances.
                    evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions
                    {
                        TimeProvider = timeProvider,
                        CounterStore = defaultEvaluator.CounterStore,
                        CounterStoreFailureMode = defaultEvaluator.CounterStoreFailureMode,
                        ShadowMode = defaultEvaluator.ShadowMode,
                    });
                    evaluators.Add(full, evaluator);
                    watcher?.Attach(evaluator);
                }
            }

            if (!byHash.TryAdd(hash, new Grant(grantId, user, evaluator)))
            {
                throw new InvalidDataException($"{where}.token_sha256: the same token is listed twice.");
            }
        }

        return byHash;
    }

    private static string? Text(JsonElement entry, string name, string where, bool required)
    {
        if (!entry.TryGetProperty(name, out var value))
        {
            return required ? throw new InvalidDataException($"{where}: \"{name}\" is missing.") : null;
        }

        return value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new InvalidDataException($"{where}.{name}: a non-empty string.");
    }

    private sealed record CachedToken(string Token, Grant Grant);

    /// <summary>One grant of the file.</summary>
    internal sealed record Grant(string GrantId, string? UserId, PolicyEvaluator Evaluator)
    {
        /// <summary>The caller a request with this grant's token is, built once with the grant.</summary>
        public GatewayCaller Caller { get; } = new("grant:" + GrantId + "\n" + UserId, GrantId, UserId, null, Evaluator);
    }
}
