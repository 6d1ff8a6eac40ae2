namespace PolicyLayer.Cli.Common;

/// <summary>The exit codes of every <c>policylayer</c> command.</summary>
internal static class ExitCodes
{
    /// <summary>Everything loaded and every check passed.</summary>
    public const int Ok = 0;

    /// <summary>A policy did not load, or a test case failed: the input was read, and it is wrong.</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong, or a file or server could not be read.</summary>
    public const int UsageOrIo = 2;
}
