using System.Text.Json;

namespace PolicyLayer.Gate;

/// <summary>What the gate says about one tools/call: go ahead (with the units it holds), refused, or ask the client for input first.</summary>
internal sealed class GateVerdict
{
    private int _toolStarted;
    private CounterLease? _lease;

    private GateVerdict(PolicyDecision decision, GateRefusal? refusal, JsonElement? inputRequest, string? inputState)
    {
        Decision = decision;
        Refusal = refusal;
        InputRequest = inputRequest;
        InputState = inputState;
    }

    /// <summary>The decision that let the call through, or the last one made.</summary>
    public PolicyDecision Decision { get; }

    /// <summary>Whether the call goes to the tool.</summary>
    public bool IsAdmitted => Refusal is null && InputRequest is null;

    /// <summary>The refusal the agent reads, when refused.</summary>
    public GateRefusal? Refusal { get; }

    /// <summary>
    /// For an approval asked through an input request: the params of the <c>elicitation/create</c> input request, keyed
    /// <see cref="ToolCallGate.InputKey"/>; the host answers the call with an input-required result carrying it and <see cref="InputState"/>.
    /// </summary>
    public JsonElement? InputRequest { get; }

    /// <summary>The signed state that goes with <see cref="InputRequest"/>.</summary>
    public string? InputState { get; }

    /// <summary>
    /// The units the admitted call holds, if any: one lease per verdict, made at the first read (a decision of one counter
    /// makes its lease on demand), so that settling twice gives back once without asking the store again.
    /// </summary>
    public CounterLease? Lease
    {
        get
        {
            if (Volatile.Read(ref _lease) is null && Decision.Lease is { IsAcquired: true } made)
            {
                Interlocked.CompareExchange(ref _lease, made, null);
            }

            return _lease;
        }
    }

    /// <summary>Whether the host said the tool started (<see cref="MarkToolStarted"/>): from then on a cancellation keeps the units.</summary>
    public bool ToolStarted => Volatile.Read(ref _toolStarted) != 0;

    /// <summary>Records that the call reached the tool (or was forwarded to the server), so that it may have acted.</summary>
    public void MarkToolStarted() => Volatile.Write(ref _toolStarted, 1);

    internal static GateVerdict Admitted(PolicyDecision decision) => new(decision, null, null, null);

    internal static GateVerdict Refused(PolicyDecision decision, GateRefusal refusal) => new(decision, refusal, null, null);

    /// <summary>The verdict on a call that could not be decided (such as one whose caller could not be told): refused, fail closed.</summary>
    public static GateVerdict Undecidable(string toolName) => new(default, GateRefusal.ForError(toolName), null, null);

    internal static GateVerdict AskForInput(PolicyDecision held, JsonElement elicitation, string state) => new(held, null, elicitation, state);
}
