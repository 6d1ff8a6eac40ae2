namespace PolicyLayer.Benchmarks;

/// <summary>
/// The pairing the measurement programs share: in every round each configuration's block runs right beside a block of
/// the baseline (configuration 0), the baseline first in even rounds and second in odd ones (A B, then B A), so that a
/// drift of the machine between pairs cancels out of each pair.
/// </summary>
internal static class PairedBlocks
{
    /// <param name="rounds">How many rounds.</param>
    /// <param name="configurations">How many configurations, the baseline included.</param>
    /// <param name="run">Runs one block of configuration k.</param>
    /// <param name="record">Receives, for configuration k, its block and the baseline block paired with it.</param>
    public static async Task RunAsync<TBlock>(int rounds, int configurations, Func<int, Task<TBlock>> run, Action<int, TBlock, TBlock> record)
    {
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 1; k < configurations; k++)
            {
                TBlock baseline, measured;
                if (round % 2 == 0)
                {
                    baseline = await run(0);
                    measured = await run(k);
                }
                else
                {
                    measured = await run(k);
                    baseline = await run(0);
                }

                record(k, measured, baseline);
            }
        }
    }
}
