using System.Diagnostics.Tracing;
using System.Globalization;

namespace PolicyLayer.Benchmarks;

/// <summary>The runtime's GCAllocationTick events (one per ~100 KB a heap allocates), summed by type while started.</summary>
internal sealed class AllocationListener : EventListener
{
    private readonly Lock _lock = new();
    private Dictionary<string, long> _bytes = [];
    private bool _on;

    public void Start()
    {
        lock (_lock)
        {
            _bytes = [];
            _on = true;
        }
    }

    public Dictionary<string, double> Stop(int requests)
    {
        lock (_lock)
        {
            _on = false;
            return _bytes.ToDictionary(p => p.Key, p => (double)p.Value / requests);
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var typeIndex = eventData.PayloadNames!.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || amountIndex < 0)
        {
            return;
        }

        var type = eventData.Payload[typeIndex] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[amountIndex], CultureInfo.InvariantCulture);
        lock (_lock)
        {
            if (_on)
            {
                _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
            }
        }
    }
}
