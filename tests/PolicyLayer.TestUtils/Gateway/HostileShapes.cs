using System.Globalization;
using System.Text;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.TestUtils.Gateway;

/// <summary>Messages built to make a checker do the most work per byte.</summary>
public static class HostileShapes
{
    public const int Count = 6;

    /// <summary>A tools/call of about <paramref name="size"/> bytes in shape <paramref name="shape"/>.</summary>
    public static string Message(int shape, int size) => Call("1", "echo", shape switch
    {
        0 => ManyKeys(size),
        1 => ManyCaseVariants(size),
        2 => ManyObjects(size),
        3 => Deep(size),
        4 => LongEscapedString(size),
        _ => ManyNumbers(size),
    });

    /// <summary>One object with as many distinct member names as fit.</summary>
    public static string ManyKeys(int size)
    {
        var text = new StringBuilder(size + 32).Append('{');
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("\"k").Append(i.ToString(CultureInfo.InvariantCulture)).Append("\":0");
        }

        return text.Append('}').ToString();
    }

    /// <summary>Names that share a long prefix and differ only near the end, every one distinct even ignoring case.</summary>
    public static string ManyCaseVariants(int size)
    {
        var prefix = new string('A', 32);
        var text = new StringBuilder(size + 64).Append('{');
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append('"').Append(prefix).Append(i.ToString("x", CultureInfo.InvariantCulture)).Append("\":1");
        }

        return text.Append('}').ToString();
    }

    /// <summary>An array of many small objects, each with the same few names.</summary>
    public static string ManyObjects(int size)
    {
        var text = new StringBuilder(size + 32).Append("{\"items\":[");
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("{\"a\":1,\"b\":2,\"c\":3}");
        }

        return text.Append("]}").ToString();
    }

    /// <summary>Nesting to the scanner's depth limit, repeated.</summary>
    public static string Deep(int size)
    {
        var one = string.Concat(Enumerable.Repeat("{\"x\":", 60)) + "0" + new string('}', 60);
        var text = new StringBuilder(size + one.Length).Append("{\"items\":[");
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append(one);
        }

        return text.Append("]}").ToString();
    }

    /// <summary>One long string made of escapes.</summary>
    public static string LongEscapedString(int size) =>
        "{\"text\":\"" + string.Concat(Enumerable.Repeat("\\u00e9\\n", size / 8)) + "\"}";

    /// <summary>Many numbers with long mantissas.</summary>
    public static string ManyNumbers(int size)
    {
        var text = new StringBuilder(size + 32).Append("{\"n\":[");
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("1.00000000000000000000001e-300");
        }

        return text.Append("]}").ToString();
    }
}
