using System.Runtime.CompilerServices;

// The hot path passes PolicyDecision (a large struct) through several frames; zeroing every frame's
// locals before use is measurable there, and C#'s definite assignment already guarantees none is read unset.
[module: SkipLocalsInit]
