using Hyper.Tests.Support;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// The Llama family's reference ops (RMSNorm, rotary embedding, SwiGLU, grouped-query attention):
/// each backward against central finite differences in double (<see cref="GradCheck"/>'s
/// tolerance), each forward against a property that a wrong kernel breaks, on odd shapes.
/// </summary>
public class LlamaOpsTests
{
    [Test]
    public void RmsNormBackwardMatchesFiniteDifferences()
    {
        const int N = 5, C = 13;
        var x = Check.RandomDouble(N * C, 1);
        var w = Check.RandomDouble(C, 2);
        var probe = Check.RandomDouble(N * C, 3);
        var y = new double[N * C];
        var rstd = new double[N];
        Ref.RmsNorm.Forward<double>(y, rstd, x, w, N, C, 1e-6);
        var dx = new double[N * C];
        var dw = new double[C];
        Ref.RmsNorm.Backward<double>(dx, dw, probe, x, w, rstd, N, C);
        double Loss()
        {
            Ref.RmsNorm.Forward<double>(y, rstd, x, w, N, C, 1e-6);
            return GradCheck.Dot(y, probe);
        }
        GradCheck.Check("rmsnorm dinp", x, dx, Loss);
        GradCheck.Check("rmsnorm dweight", w, dw, Loss);
    }

    [Test]
    public void RmsNormRowsHaveUnitRootMeanSquare()
    {
        const int N = 3, C = 17;
        var x = Check.RandomDouble(N * C, 4, 5.0);
        var ones = Enumerable.Repeat(1.0, C).ToArray();
        var y = new double[N * C];
        Ref.RmsNorm.Forward<double>(y, new double[N], x, ones, N, C, 0.0);
        for (int n = 0; n < N; n++)
            Assert.That(Math.Sqrt(y.Skip(n * C).Take(C).Sum(v => v * v) / C), Is.EqualTo(1.0).Within(1e-12));
    }

    [Test]
    public void RopeBackwardMatchesFiniteDifferencesAndPreservesNorms()
    {
        const int B = 2, T = 3, H = 3, hs = 6, pos0 = 4;
        var (cosF, sinF) = Ref.Rope.Tables(Ref.Rope.InverseFrequencies(hs, 10000), pos0 + T);
        var cos = Check.ToDouble(cosF);
        var sin = Check.ToDouble(sinF);
        int n = B * T * H * hs;
        var x = Check.RandomDouble(n, 5);
        var probe = Check.RandomDouble(n, 6);
        var y = new double[n];
        Ref.Rope.Forward<double>(y, x, cos, sin, B, T, H, hs, pos0);
        // A rotation keeps every head's length (a port pairing the wrong halves does too, which the
        // position-0 check below catches: there the rotation is the identity).
        for (int r = 0; r < n / hs; r++)
            Assert.That(y.Skip(r * hs).Take(hs).Sum(v => v * v), Is.EqualTo(x.Skip(r * hs).Take(hs).Sum(v => v * v)).Within(1e-6));
        var dx = new double[n];
        Ref.Rope.Backward<double>(dx, probe, cos, sin, B, T, H, hs, pos0);
        GradCheck.Check("rope dinp", x, dx, () =>
        {
            Ref.Rope.Forward<double>(y, x, cos, sin, B, T, H, hs, pos0);
            return GradCheck.Dot(y, probe);
        });
    }

    [Test]
    public void RopeRotatesHalvesNotNeighbours()
    {
        // hs 4, position 1, ω = (1, θ^-1/2): out[0] = x0·cos1 − x2·sin1 (rotate-half pairs i with i + hs/2).
        var (cos, sin) = Ref.Rope.Tables(Ref.Rope.InverseFrequencies(4, 10000), 2);
        float[] x = [1, 2, 3, 4];
        var y = new float[4];
        Ref.Rope.Forward<float>(y, x, cos.AsSpan(2), sin.AsSpan(2), 1, 1, 1, 4, 0);
        Assert.That(y[0], Is.EqualTo(MathF.Cos(1) * 1 - MathF.Sin(1) * 3).Within(1e-6));
        Assert.That(y[2], Is.EqualTo(MathF.Cos(1) * 3 + MathF.Sin(1) * 1).Within(1e-6));
    }

    [Test]
    public void Llama3ScalingKeepsHighFrequenciesAndSlowsLowOnes()
    {
        var w = Ref.Rope.InverseFrequencies(64, 500000);
        var scaled = (double[])w.Clone();
        Ref.Rope.ScaleLlama3(scaled, 8, 1, 4, 8192);
        Assert.That(scaled[0], Is.EqualTo(w[0]), "wavelength 2π is far below 8192/4: kept");
        Assert.That(scaled[^1], Is.EqualTo(w[^1] / 8).Within(1e-18), "the longest wavelength is above 8192: divided by the factor");
        for (int i = 0; i < w.Length; i++) Assert.That(scaled[i], Is.LessThanOrEqualTo(w[i]).And.GreaterThanOrEqualTo(w[i] / 8 * (1 - 1e-12)));
    }

    [Test]
    public void SwiGluBackwardMatchesFiniteDifferences()
    {
        const int N = 29;
        var g = Check.RandomDouble(N, 7, 3.0);
        var u = Check.RandomDouble(N, 8);
        var probe = Check.RandomDouble(N, 9);
        var y = new double[N];
        var dg = new double[N];
        var du = new double[N];
        Ref.SwiGlu.Backward<double>(dg, du, probe, g, u, N);
        double Loss()
        {
            Ref.SwiGlu.Forward<double>(y, g, u, N);
            return GradCheck.Dot(y, probe);
        }
        GradCheck.Check("swiglu dgate", g, dg, Loss);
        GradCheck.Check("swiglu dup", u, du, Loss);
    }

    [TestCase(1, 5, 4, 2, 6)]
    [TestCase(2, 7, 6, 3, 4)]
    [TestCase(2, 4, 3, 1, 5)]
    public void GroupedQueryAttentionBackwardMatchesFiniteDifferences(int B, int T, int NH, int NKV, int hs)
    {
        var q = Check.RandomDouble(B * T * NH * hs, 10);
        var k = Check.RandomDouble(B * T * NKV * hs, 11);
        var v = Check.RandomDouble(B * T * NKV * hs, 12);
        var probe = Check.RandomDouble(q.Length, 13);
        var o = new double[q.Length];
        var lse = new double[B * NH * T];
        Ref.GroupedQueryAttention.Forward<double>(o, lse, q, k, v, B, T, NH, NKV, hs);
        var dq = new double[q.Length];
        var dk = new double[k.Length];
        var dv = new double[v.Length];
        Ref.GroupedQueryAttention.Backward<double>(dq, dk, dv, probe, q, k, v, o, lse, B, T, NH, NKV, hs);
        double Loss()
        {
            Ref.GroupedQueryAttention.Forward<double>(o, lse, q, k, v, B, T, NH, NKV, hs);
            return GradCheck.Dot(o, probe);
        }
        GradCheck.Check("gqa dq", q, dq, Loss);
        GradCheck.Check("gqa dk", k, dk, Loss);
        GradCheck.Check("gqa dv", v, dv, Loss);
    }

    [Test]
    public void GroupedQueryAttentionEqualsMultiHeadWithRepeatedKeyValueHeads()
    {
        // GQA with NKV groups equals the packed multi-head attention when each key/value head is repeated for its group.
        const int B = 2, T = 6, NH = 4, NKV = 2, hs = 3, C = NH * hs;
        var q = Check.Random(B * T * NH * hs, 14);
        var k = Check.Random(B * T * NKV * hs, 15);
        var v = Check.Random(B * T * NKV * hs, 16);
        var qkv = new float[B * T * 3 * C];
        for (int r = 0; r < B * T; r++)
            for (int h = 0; h < NH; h++)
                for (int d = 0; d < hs; d++)
                {
                    qkv[r * 3 * C + h * hs + d] = q[(r * NH + h) * hs + d];
                    qkv[r * 3 * C + C + h * hs + d] = k[(r * NKV + h / 2) * hs + d];
                    qkv[r * 3 * C + 2 * C + h * hs + d] = v[(r * NKV + h / 2) * hs + d];
                }
        var expected = new float[B * T * C];
        Ref.Attention.Forward<float>(expected, new float[B * NH * T], qkv, B, T, C, NH, causal: true);
        var actual = new float[B * T * C];
        Ref.GroupedQueryAttention.Forward<float>(actual, new float[B * NH * T], q, k, v, B, T, NH, NKV, hs);
        Check.Close("gqa vs mha", actual, expected, rtol: 1e-5);
    }

    [Test]
    public void KvDecodingEqualsFullPrefixAttention()
    {
        const int B = 2, T = 7, NH = 6, NKV = 2, hs = 4, maxT = 9;
        var q = Check.Random(B * T * NH * hs, 17);
        var k = Check.Random(B * T * NKV * hs, 18);
        var v = Check.Random(B * T * NKV * hs, 19);
        var full = new float[q.Length];
        Ref.GroupedQueryAttention.Forward<float>(full, new float[B * NH * T], q, k, v, B, T, NH, NKV, hs);
        var kc = new float[B * maxT * NKV * hs];
        var vc = new float[kc.Length];
        // A prompt of 4 tokens, then one token at a time.
        int[] steps = [4, 1, 1, 1];
        int pos = 0;
        foreach (int tq in steps)
        {
            float[] Rows(float[] src, int heads)
            {
                var dst = new float[B * tq * heads * hs];
                for (int b = 0; b < B; b++) src.AsSpan((b * T + pos) * heads * hs, tq * heads * hs).CopyTo(dst.AsSpan(b * tq * heads * hs));
                return dst;
            }
            var o = new float[B * tq * NH * hs];
            Ref.GroupedQueryAttention.KvForward<float>(o, kc, vc, Rows(q, NH), Rows(k, NKV), Rows(v, NKV), B, tq, pos, maxT, NH, NKV, hs);
            Check.Close($"kv step at {pos}", o, Rows(full, NH), rtol: 1e-5);
            pos += tq;
        }
    }
}
