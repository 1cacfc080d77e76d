using Hyper.Runtime.Backends;

namespace Hyper.Tests.Backends;

/// <summary>
/// One op on one shape: <see cref="Run"/> puts seeded inputs on a harness, calls the op and names
/// the tensors to compare. The suite runs it once on the reference and once on the backend under
/// test; the error max|actual − expected| / max(1, max|expected|) must stay within
/// <see cref="Tolerance"/>.
/// </summary>
/// <param name="Name">What the test is called, with its shape.</param>
/// <param name="Op">The op whose support the backend must declare.</param>
/// <param name="Tolerance">The largest normalised error allowed (see <see cref="OpCases"/> for why each).</param>
/// <param name="Run">Calls the op; returns the tensors to compare.</param>
public sealed record OpCase(string Name, Op Op, double Tolerance, Func<OpHarness, (string Name, TensorView View)[]> Run)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}
