using System.Globalization;
using System.Text.Json;

namespace PolicyLayer.Cli.Common;

/// <summary>Durations as the cases format writes them: <c>"250ms"</c>, <c>"90s"</c>, <c>"5m"</c>, <c>"1h"</c>, <c>"1d"</c>, or a number of seconds.</summary>
internal static class Durations
{
    public static bool TryParse(JsonElement element, out TimeSpan duration)
    {
        duration = default;
        if (element.ValueKind == JsonValueKind.Number)
        {
            if (!element.TryGetDouble(out var seconds) || seconds < 0 || seconds > 366 * 86400)
            {
                return false;
            }

            duration = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return element.ValueKind == JsonValueKind.String && TryParse(element.GetString()!, out duration);
    }

    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        var (unitLength, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (2, TimeSpan.FromMilliseconds(1))
            : text.EndsWith('s') ? (1, TimeSpan.FromSeconds(1))
            : text.EndsWith('m') ? (1, TimeSpan.FromMinutes(1))
            : text.EndsWith('h') ? (1, TimeSpan.FromHours(1))
            : text.EndsWith('d') ? (1, TimeSpan.FromDays(1))
            : (0, TimeSpan.FromSeconds(1));
        if (!double.TryParse(text.AsSpan(0, text.Length - unitLength), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var count)
            || count > 366 * 86400)
        {
            return false;
        }

        duration = unit * count;
        return duration <= TimeSpan.FromDays(366);
    }

    public static string Format(TimeSpan span) =>
        span.TotalSeconds >= 1
            ? span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s"
            : span.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
}
