namespace PolicyLayer;

/// <summary>Conversions between <see cref="TimeSpan"/> and <see cref="TimeProvider"/> timestamp units.</summary>
internal static class TimeConversions
{
    /// <summary>Converts <paramref name="span"/> to timestamp units, rounding up.</summary>
    internal static long ToTimestampUnits(TimeSpan span, long frequency) =>
        frequency == TimeSpan.TicksPerSecond
            ? span.Ticks
            : (long)((((Int128)span.Ticks * frequency) + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond);

    /// <summary>Converts timestamp units to a <see cref="TimeSpan"/>, rounding up to a tick; <see cref="long.MaxValue"/> means never.</summary>
    internal static TimeSpan FromTimestampUnits(long units, long frequency)
    {
        if (units == long.MaxValue)
        {
            return TimeSpan.MaxValue;
        }

        return frequency == TimeSpan.TicksPerSecond
            ? new TimeSpan(units)
            : new TimeSpan((long)((((Int128)units * TimeSpan.TicksPerSecond) + frequency - 1) / frequency));
    }
}
