namespace Hyper.Runtime.Benchmarks;

/// <summary>
/// One variant of one op on one backend at one shape: its error against the reference backend
/// and, when that check passed, its median time. A failed or skipped variant has no time and says why.
/// </summary>
/// <param name="Op">Op name as the lab knows it (matmul, attention, ...).</param>
/// <param name="Backend">Backend name.</param>
/// <param name="Variant">Variant name ("default" for an op with one kernel).</param>
/// <param name="Shape">The dimensions, e.g. "N=512 C=768 OC=2304".</param>
/// <param name="Ms">Median milliseconds per call, or null when the check failed.</param>
/// <param name="Gflops">Counted FLOPs per second / 1e9, or null (no time, or an op whose FLOPs are not counted).</param>
/// <param name="GBps">Bytes of every input and output, each moved once (a matmul's weights in their format), per second / 1e9.</param>
/// <param name="RelError">‖out − reference‖ / ‖reference‖ over every output, the worst one.</param>
/// <param name="Ok">Whether the error is within the lab's tolerance.</param>
/// <param name="Error">Why the variant failed or was skipped, or null.</param>
/// <param name="Skipped">Not run at all (Ok is false, Error says why): left out of the native build, or a
/// context poisoned by an earlier variant's device fault.</param>
public sealed record KernelLabResult(string Op, string Backend, string Variant, string Shape, double? Ms, double? Gflops, double? GBps, double RelError, bool Ok,
    string? Error, bool Skipped = false);
