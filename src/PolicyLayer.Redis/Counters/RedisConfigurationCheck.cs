namespace PolicyLayer;

/// <summary>What a <see cref="RedisCounterStore"/> does when a Redis server's settings let counts be evicted or lost.</summary>
public enum RedisConfigurationCheck
{
    /// <summary>Reads the settings of every server at start-up and logs a warning for each risk; counts go on.</summary>
    Warn = 0,

    /// <summary>
    /// Reads the settings at start-up and refuses every operation (fail closed, <see cref="CounterStoreUnavailableException"/>)
    /// while a server can evict counter keys, keeps no persistence, or does not let its settings be read.
    /// </summary>
    Strict = 1,

    /// <summary>Reads nothing: for servers whose settings the operator has checked by other means.</summary>
    Off = 2,
}
