using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// The weighted sum of tensors (model merging): the CPU kernel against the reference, bit-exact
/// (one rounded multiply for the first term, one fma for each further term, in both), in place;
/// and the float reference against a double one within the rounding of K terms.
/// </summary>
public class WeightedSumTests
{
    // 0..70 crosses every Vector512/256/128 tail; 1025 is 64 vectors plus one; 100_003 is split over
    // two threads (and leaves an odd tail in each).
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 71).Append(1025).Append(100_003);

    private static readonly float[] Weights = [0.3f, -1.25f, 0.7f, 1f / 3];

    [TestCaseSource(nameof(Lengths))]
    public void MatchesReferenceExactly(int n)
    {
        var xs = Enumerable.Range(0, Weights.Length).Select(k => Check.Random(n, 10 + k)).ToArray();
        var expected = new float[n];
        var actual = Check.Random(n, 99); // stale contents: Scale must overwrite them
        Ref.WeightedSum.Scale<float>(expected, xs[0], Weights[0], n);
        Cpu.WeightedSum.Scale(actual, xs[0], Weights[0], n);
        for (int k = 1; k < xs.Length; k++)
        {
            Ref.WeightedSum.Accumulate<float>(expected, xs[k], Weights[k], n);
            Cpu.WeightedSum.Accumulate(actual, xs[k], Weights[k], n);
        }
        Check.Close("sum", actual, expected, rtol: 0, atol: 0);

        // In place: the running sum is also the input.
        float[] self = (float[])xs[1].Clone(), selfRef = (float[])xs[1].Clone();
        Cpu.WeightedSum.Scale(self, self, 0.5f, n);
        Cpu.WeightedSum.Accumulate(self, self, 3f, n);
        Ref.WeightedSum.Scale<float>(selfRef, selfRef, 0.5f, n);
        Ref.WeightedSum.Accumulate<float>(selfRef, selfRef, 3f, n);
        Check.Close("in place", self, selfRef, rtol: 0, atol: 0);
    }

    [Test]
    public void FloatSumIsWithinRoundingOfTheDoubleSum()
    {
        const int n = 1025;
        var xs = Enumerable.Range(0, Weights.Length).Select(k => Check.Random(n, 20 + k)).ToArray();
        var actual = new float[n];
        var exact = new double[n];
        Cpu.WeightedSum.Scale(actual, xs[0], Weights[0], n);
        Ref.WeightedSum.Scale<double>(exact, Check.ToDouble(xs[0]), Weights[0], n);
        for (int k = 1; k < xs.Length; k++)
        {
            Cpu.WeightedSum.Accumulate(actual, xs[k], Weights[k], n);
            Ref.WeightedSum.Accumulate<double>(exact, Check.ToDouble(xs[k]), Weights[k], n);
        }
        // K = 4 roundings of partial sums bounded by Σ|w| = 3.28 (inputs in [-1, 1]): 4 · 2^-24 · 3.28 ≈ 8e-7.
        Check.Close("vs double", actual, Check.ToFloat(exact), rtol: 0, atol: 8e-7);
    }

    [Test]
    public void HalfAndHalfIsTheMeanBitForBit()
    {
        // Halving a normal float is exact, so 0.5·a then fma(0.5, b, ·) rounds once, like (a + b) / 2;
        // signed zeros and the largest magnitudes included. (Not below 2^-125: halving a subnormal rounds.)
        float[] a = [.. Check.Random(1031, 30), -0f, 0f, -0f, 2.4e-38f, float.MaxValue / 4];
        float[] b = [.. Check.Random(1031, 31), -0f, -0f, 3f, -2.4e-38f, float.MaxValue / 4];
        var mean = new float[a.Length];
        Cpu.WeightedSum.Scale(mean, a, 0.5f, a.Length);
        Cpu.WeightedSum.Accumulate(mean, b, 0.5f, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.That(BitConverter.SingleToInt32Bits(mean[i]), Is.EqualTo(BitConverter.SingleToInt32Bits((a[i] + b[i]) / 2)), $"element {i}: {a[i]}, {b[i]}");
    }

    [Test]
    public void WeightsOneAndZeroGiveTheFirstTensorBack()
    {
        float[] a = Check.Random(1025, 40), b = Check.Random(1025, 41);
        var sum = new float[a.Length];
        Cpu.WeightedSum.Scale(sum, a, 1f, a.Length);
        Cpu.WeightedSum.Accumulate(sum, b, 0f, a.Length);
        Check.Close("1·a + 0·b", sum, a, rtol: 0, atol: 0);
    }
}
