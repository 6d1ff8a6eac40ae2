using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Gate;

/// <summary>
/// The signed state of an approval asked through an input request (multi-round-trip requests): it binds the approval to
/// one tool, its arguments and its caller, dates it, and names it with a random nonce that the approved retry uses up in
/// the counter store, so that each approval allows one call on any instance that shares the store.
/// </summary>
internal sealed class ApprovalTickets
{
    /// <summary>The tag of the state's format: v2 carries a nonce. A state of another version is refused.</summary>
    private const string StateVersion = "v2";

    private const int NonceBytes = 16;

    /// <summary>
    /// The counter that records used approvals, one scope key per nonce. The parentheses keep it apart from the
    /// counters of policies in practice; the random scope keys keep it apart from them in any case.
    /// </summary>
    internal const string NonceCounterName = "(policylayer approvals used)";

    /// <summary>
    /// How much longer than the time-out a used nonce is remembered: server instances whose clocks disagree by up
    /// to this much still refuse a replay until the approval has expired on every one of them.
    /// </summary>
    private static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(1);

    private byte[]? _key;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly CounterDefinition _usedNonces;

    public ApprovalTickets(ReadOnlyMemory<byte>? key, TimeSpan timeout, TimeProvider time)
    {
        // A random key is drawn on first use: every gate has tickets, few sessions ask for an approval, and the first
        // random bytes of a process load OpenSSL on Linux, milliseconds of every proxy's start (docs/benchmarks.md).
        _key = key?.ToArray();
        _time = time;
        _timeout = timeout;

        // Whole milliseconds, rounded up, as counter stores keep windows.
        var window = TimeSpan.FromMilliseconds(Math.Ceiling((timeout + ClockSkewAllowance).TotalMilliseconds));
        _usedNonces = new CounterDefinition(NonceCounterName, 1, window, CounterScope.Global);
    }

    /// <summary>The signing key: the one given, or random bytes drawn once, on first use, by whichever thread gets there first.</summary>
    private byte[] Key => Volatile.Read(ref _key) ?? Interlocked.CompareExchange(ref _key, RandomNumberGenerator.GetBytes(32), null) ?? _key!;

    /// <summary>A new state for an approval of <paramref name="call"/> asked now.</summary>
    public string Issue(ToolCall call) =>
        Sign(call, _time.GetUtcNow().ToUnixTimeMilliseconds(), Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(NonceBytes)));

    /// <summary>Checks a state the client echoed back: issued by us for this call, and not expired. The nonce is returned to be used up.</summary>
    public bool TryCheck(ToolCall call, string? state, out string nonce, out RefusalKind kind, out string why)
    {
        nonce = string.Empty;
        kind = RefusalKind.ApprovalInvalid;
        if (state is null || !TryRead(state, out var issuedAt, out nonce)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(call, issuedAt, nonce)), Encoding.ASCII.GetBytes(state)))
        {
            why = "The approval sent with this call was not issued for it.";
            return false;
        }

        if (_time.GetUtcNow().ToUnixTimeMilliseconds() - issuedAt > (long)_timeout.TotalMilliseconds)
        {
            kind = RefusalKind.ApprovalTimedOut;
            why = string.Create(CultureInfo.InvariantCulture, $"The approval came after the {_timeout.TotalSeconds:0} s allowed.");
            return false;
        }

        why = string.Empty;
        return true;
    }

    /// <summary>
    /// Uses the approval up: the first retry that brings it takes the nonce's one unit, never given back (not even
    /// when the tool then fails: the client asks again). False when it was used already. Store failures propagate.
    /// </summary>
    public async ValueTask<bool> TryUseUpAsync(CounterStore store, string nonce, CancellationToken cancellationToken)
    {
        var requests = new[] { new CounterRequest(_usedNonces, nonce, 1) };
        var budgets = new CounterBudget[1];
        var used = await store.TryReserveAsync(requests, budgets, cancellationToken).ConfigureAwait(false);
        return used.IsAcquired;
    }

    // "v2.<issued at, Unix ms>.<nonce>.<HMAC-SHA256 of version, tool, arguments, grant, user, issued, nonce; base64url>".
    private string Sign(ToolCall call, long issuedAt, string nonce)
    {
        var issued = issuedAt.ToString(CultureInfo.InvariantCulture);
        var text = string.Join('\u001f', StateVersion, call.ToolName, ArgumentsText(call.Arguments), call.Caller.GrantId, call.Caller.UserId, issued, nonce);
        var mac = HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes(text));
        return string.Join('.', StateVersion, issued, nonce, Base64Url.EncodeToString(mac));
    }

    private static string ArgumentsText(IReadOnlyDictionary<string, JsonElement>? arguments)
    {
        if (arguments is null)
        {
            return string.Empty;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in arguments)
            {
                json.WritePropertyName(name);
                value.WriteTo(json);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    // Reads the parts the signature is checked over; the signature check then decides whether they are ours.
    private static bool TryRead(string state, out long issuedAt, out string nonce)
    {
        issuedAt = 0;
        nonce = string.Empty;
        Span<Range> parts = stackalloc Range[5];
        var span = state.AsSpan();
        if (span.Split(parts, '.') != 4 || !span[parts[0]].SequenceEqual(StateVersion)
            || !long.TryParse(span[parts[1]], NumberStyles.None, CultureInfo.InvariantCulture, out issuedAt)
            || span[parts[2]].IsEmpty)
        {
            return false;
        }

        nonce = state[parts[2]];
        return true;
    }
}
