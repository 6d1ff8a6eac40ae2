using System.Runtime.CompilerServices;

// The hot path passes PolicyDecision (a large struct) through several frames; zeroing every frame's
// locals before use is measurable there, and C#'s definite assignment already guarantees none is read unset.
[module: SkipLocalsInit]

// The gateway's relay goes through the shared gate (PolicyLayer.Gate), as the middleware does.
[assembly: InternalsVisibleTo("PolicyLayer.Gateway")]
