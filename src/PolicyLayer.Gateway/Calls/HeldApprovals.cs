namespace PolicyLayer.Gateway;

/// <summary>
/// What one session holds waiting for approval, in calls and in bytes (their messages), bounded: a call past either bound
/// is refused with the reason, never held.
/// </summary>
internal sealed class HeldApprovals(int maxCalls, long maxBytes)
{
    private readonly Lock _lock = new();
    private int _calls;
    private long _bytes;

    /// <summary>Holds a call of <paramref name="bytes"/>; the reason it cannot be held, or <see langword="null"/> when it is.</summary>
    public string? TryHold(int bytes)
    {
        lock (_lock)
        {
            if (_calls >= maxCalls)
            {
                return $"the proxy already holds {_calls} calls of this session for approval, the most it holds (--max-held-approvals); answer those first.";
            }

            if (_bytes + bytes > maxBytes)
            {
                return $"holding this call ({bytes} bytes) would take the calls this session holds for approval past {maxBytes} bytes, the most it holds (--max-held-approval-bytes); answer those first.";
            }

            _calls++;
            _bytes += bytes;
            return null;
        }
    }

    /// <summary>Lets go of a call held with <see cref="TryHold"/>.</summary>
    public void Release(int bytes)
    {
        lock (_lock)
        {
            _calls--;
            _bytes -= bytes;
        }
    }
}
