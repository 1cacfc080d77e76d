using Hyper.Runtime.Backends;
using Hyper.Tests.Support;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Backends;

/// <summary>
/// Every op of <see cref="IBackend"/>, forward and backward, on odd shapes: 1 and 7 everywhere,
/// channel counts that are no multiple of 4, 8 or 16, lengths one past a power of two, several
/// heads, causal and not, a KV cache filled up to pos &gt; 0 with several new tokens, ignored
/// targets, repeated tokens. Backward gradients start from nonzero values (they must accumulate),
/// except the softmax-cross-entropy backward's, which start from garbage (it must overwrite).
/// </summary>
public static class OpCases
{
    // Tolerances on max|a − b| / max(1, max|ref|). Inputs are uniform in [-1, 1) unless noted, so
    // the normaliser is ~1 and a wrong index, a dropped tail or a missed accumulation errs by
    // ≥ 1e-2: every bound below is far from that.

    /// <summary>
    /// One correctly rounded add or copy per output (encoder forward, residual): IEEE-754 makes
    /// these bit-exact on any device; the bound only allows for a compiler that fuses differently.
    /// </summary>
    private const double Elementwise = 1e-6;

    /// <summary>
    /// Float sums of up to a few hundred terms in another order (matmul, layernorm, encoder
    /// backward, AdamW's few roundings): they differ by a random walk of ~√K·ε ≈ 20·6e-8 ≈ 1e-6 of
    /// the largest sum; 1e-5 is ten times that.
    /// </summary>
    private const double Sums = 1e-5;

    /// <summary>
    /// Sums as above through exp, log and tanh, which device math libraries may round a few ulp
    /// away from .NET's (OpenCL C 1.2 allows exp 3 ulp, tanh 5 ulp): softmax, GELU, attention forward.
    /// </summary>
    private const double Transcendental = 2e-5;

    /// <summary>
    /// The attention backward recomputes p = exp(s − lse) and multiplies by dP − D, which
    /// cancels (D is p's weighted mean of dP), so float errors grow with T; measured worst is
    /// well below this, a wrong term is O(1).
    /// </summary>
    private const double AttentionGrad = 5e-5;

    /// <summary>
    /// Rotary embedding: two products and one add (or subtract) per output, plus the accumulated
    /// value in the backward. A device that fuses them into an FMA rounds once fewer, ~1 ulp of
    /// |x|·|cos| ≈ 1e-7 of the ~1 inputs; 1e-6 allows that, a swapped pair or sign errs by ~1.
    /// </summary>
    private const double Rotation = 1e-6;

    /// <summary>Every case, in the order the suite lists them.</summary>
    public static IReadOnlyList<OpCase> All { get; } = Build().ToArray();

    private static IEnumerable<OpCase> Build()
    {
        foreach (var (b, t, c, v) in new[] { (1, 1, 1, 1), (2, 5, 7, 11), (3, 17, 33, 5) })
        {
            yield return EncoderForward(b, t, c, v);
            yield return EncoderBackward(b, t, c, v);
        }
        foreach (var (n, c) in new[] { (1, 1), (7, 7), (33, 67), (5, 260) })
        {
            yield return LayerNormForward(n, c);
            yield return LayerNormBackward(n, c);
        }
        foreach (var (n, c, oc) in new[] { (1, 1, 1), (7, 13, 33), (33, 67, 17), (70, 130, 97) })
            foreach (bool bias in new[] { true, false })
            {
                yield return MatmulForward(n, c, oc, bias);
                yield return MatmulBackward(n, c, oc, bias, withDinp: true);
            }
        yield return MatmulBackward(7, 13, 33, bias: true, withDinp: false);
        foreach (var (b, t, c, nh) in new[] { (1, 1, 4, 1), (2, 5, 15, 3), (1, 17, 24, 2), (2, 33, 28, 4), (1, 70, 64, 2) })
            foreach (bool causal in new[] { true, false })
            {
                yield return AttentionForward(b, t, c, nh, causal);
                yield return AttentionBackward(b, t, c, nh, causal);
            }
        foreach (var (b, tq, pos, maxT, c, nh) in new[] { (1, 1, 0, 1, 4, 1), (2, 1, 6, 9, 12, 3), (2, 3, 5, 10, 15, 3), (1, 5, 0, 8, 16, 2), (1, 4, 40, 50, 64, 2) })
            yield return AttentionKvForward(b, tq, pos, maxT, c, nh);
        foreach (int n in new[] { 1, 7, 1025 })
        {
            yield return GeluForward(n);
            yield return GeluBackward(n);
            yield return ResidualForward(n);
            yield return ResidualBackward(n);
            yield return AdamW(n, step: 1);
            yield return AdamW(n, step: 7);
        }
        // Vp > V: rows padded as the model's arena pads its vocabulary (odd V, and one pad of a single column).
        foreach (var (n, v, vp) in new[] { (1, 1, 1), (7, 33, 33), (5, 1000, 1000), (1, 1, 64), (7, 33, 64), (3, 1025, 1088), (5, 1000, 1001) })
            foreach (bool inPlace in new[] { false, true })
            {
                yield return SoftmaxCrossEntropyForward(n, v, vp, inPlace);
                yield return SoftmaxCrossEntropyBackward(n, v, vp, inPlace);
            }
        foreach (var (n, c) in new[] { (1, 1), (7, 13), (33, 67), (5, 260) })
        {
            yield return RmsNormForward(n, c);
            yield return RmsNormBackward(n, c);
        }
        foreach (var (b, t, h, hs, pos0) in new[] { (1, 1, 1, 2, 0), (2, 5, 3, 6, 3), (1, 7, 3, 10, 0), (2, 3, 2, 64, 11) })
        {
            yield return RopeForward(b, t, h, hs, pos0, inPlace: false);
            yield return RopeBackward(b, t, h, hs, pos0);
        }
        yield return RopeForward(2, 5, 3, 6, 3, inPlace: true);
        foreach (int n in new[] { 1, 7, 1029 })
        {
            yield return SwiGluForward(n, inPlace: false);
            yield return SwiGluBackward(n);
        }
        yield return SwiGluForward(1029, inPlace: true);
        foreach (var (b, t, nh, nkv, hs) in new[] { (1, 1, 3, 1, 5), (2, 5, 6, 3, 16), (1, 17, 4, 4, 5), (2, 17, 3, 1, 16), (1, 70, 4, 2, 64) })
        {
            yield return GroupedQueryAttentionForward(b, t, nh, nkv, hs);
            yield return GroupedQueryAttentionBackward(b, t, nh, nkv, hs);
        }
        foreach (var (b, tq, pos, maxT, nh, nkv, hs) in new[] { (1, 1, 0, 1, 1, 1, 4), (2, 1, 6, 9, 6, 3, 5), (2, 3, 5, 10, 6, 2, 16), (1, 5, 0, 8, 4, 4, 16), (1, 1, 130, 140, 8, 2, 64) })
            yield return GroupedQueryAttentionKvForward(b, tq, pos, maxT, nh, nkv, hs);
    }

    private static float[] R(int length, int seed, float scale = 1f) => Check.Random(length, seed, scale);

    private static int[] Tokens(int count, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.Next(vocab)).ToArray();
    }

    /// <summary>Targets in [0, V) with every third row ignored (negative).</summary>
    private static int[] Targets(int n, int v, int seed)
    {
        int[] targets = Tokens(n, v, seed);
        for (int i = 1; i < n; i += 3) targets[i] = -1;
        return targets;
    }

    private static OpCase EncoderForward(int B, int T, int C, int V) => new(
        $"EncoderForward B={B} T={T} C={C} V={V}", Op.Encoder, Elementwise, h =>
        {
            int maxT = T + 2; // wpe has rows past T, which must not be read as positions
            TensorView wte = h.Put(R(V * C, 1)), wpe = h.Put(R(maxT * C, 2)), output = h.Put(R(B * T * C, 3, 100f));
            h.Backend.EncoderForward(output, Tokens(B * T, V, 4), wte, wpe, B, T, C);
            return [("out", output)];
        });

    // V = 5 with B·T = 51 tokens repeats every token many times.
    private static OpCase EncoderBackward(int B, int T, int C, int V) => new(
        $"EncoderBackward B={B} T={T} C={C} V={V}", Op.Encoder, Sums, h =>
        {
            int maxT = T + 2;
            TensorView dwte = h.Put(R(V * C, 5)), dwpe = h.Put(R(maxT * C, 6)), dout = h.Put(R(B * T * C, 7));
            h.Backend.EncoderBackward(dwte, dwpe, dout, Tokens(B * T, V, 8), B, T, C);
            return [("dwte", dwte), ("dwpe", dwpe)];
        });

    private static OpCase LayerNormForward(int N, int C) => new(
        $"LayerNormForward N={N} C={C}", Op.LayerNorm, Sums, h =>
        {
            // An offset mean (3 ± 1) checks the two-pass variance; C = 1 has zero variance.
            float[] x = R(N * C, 10).Select(v => v + 3f).ToArray();
            TensorView input = h.Put(x), weight = h.Put(R(C, 11)), bias = h.Put(R(C, 12));
            TensorView output = h.Put(R(N * C, 13, 100f)), mean = h.Put(R(N, 14, 100f)), rstd = h.Put(R(N, 15, 100f));
            h.Backend.LayerNormForward(output, mean, rstd, input, weight, bias, N, C, 1e-5f);
            return [("out", output), ("mean", mean), ("rstd", rstd)];
        });

    private static OpCase LayerNormBackward(int N, int C) => new(
        $"LayerNormBackward N={N} C={C}", Op.LayerNorm, Sums, h =>
        {
            float[] x = R(N * C, 16), w = R(C, 17), m = new float[N], s = new float[N];
            Ref.LayerNorm.Forward<float>(new float[N * C], m, s, x, w, R(C, 18), N, C, 1e-5f);
            TensorView dinp = h.Put(R(N * C, 19)), dweight = h.Put(R(C, 20)), dbias = h.Put(R(C, 21));
            h.Backend.LayerNormBackward(dinp, dweight, dbias, h.Put(R(N * C, 22)), h.Put(x), h.Put(w), h.Put(m), h.Put(s), N, C);
            return [("dinp", dinp), ("dweight", dweight), ("dbias", dbias)];
        });

    private static OpCase MatmulForward(int N, int C, int OC, bool bias) => new(
        $"MatmulForward N={N} C={C} OC={OC} bias={bias}", Op.Matmul, Sums, h =>
        {
            TensorView output = h.Put(R(N * OC, 30, 100f));
            h.Backend.MatmulForward(output, h.Put(R(N * C, 31)), h.Put(R(OC * C, 32)), bias ? h.Put(R(OC, 33)) : TensorView.Empty, N, C, OC);
            return [("out", output)];
        });

    private static OpCase MatmulBackward(int N, int C, int OC, bool bias, bool withDinp) => new(
        $"MatmulBackward N={N} C={C} OC={OC} dbias={bias} dinp={withDinp}", Op.Matmul, Sums, h =>
        {
            TensorView dinp = withDinp ? h.Put(R(N * C, 34)) : TensorView.Empty;
            TensorView dweight = h.Put(R(OC * C, 35)), dbias = bias ? h.Put(R(OC, 36)) : TensorView.Empty;
            h.Backend.MatmulBackward(dinp, dweight, dbias, h.Put(R(N * OC, 37)), h.Put(R(N * C, 38)), h.Put(R(OC * C, 39)), N, C, OC);
            var compared = new List<(string, TensorView)> { ("dweight", dweight) };
            if (withDinp) compared.Add(("dinp", dinp));
            if (bias) compared.Add(("dbias", dbias));
            return compared.ToArray();
        });

    private static OpCase AttentionForward(int B, int T, int C, int NH, bool causal) => new(
        $"AttentionForward B={B} T={T} C={C} NH={NH} causal={causal}", Op.Attention, Transcendental, h =>
        {
            // Scale 2 makes the softmax peaky enough that a lost max shift or rescale shows.
            TensorView qkv = h.Put(R(B * T * 3 * C, 40, 2f)), output = h.Put(R(B * T * C, 41, 100f)), lse = h.Put(R(B * NH * T, 42, 100f));
            h.Backend.AttentionForward(output, lse, qkv, B, T, C, NH, causal);
            return [("out", output), ("lse", lse)];
        });

    private static OpCase AttentionBackward(int B, int T, int C, int NH, bool causal) => new(
        $"AttentionBackward B={B} T={T} C={C} NH={NH} causal={causal}", Op.Attention, AttentionGrad, h =>
        {
            float[] qkv = R(B * T * 3 * C, 43, 2f), output = new float[B * T * C], lse = new float[B * NH * T];
            Ref.Attention.Forward<float>(output, lse, qkv, B, T, C, NH, causal);
            TensorView dqkv = h.Put(R(B * T * 3 * C, 44));
            h.Backend.AttentionBackward(dqkv, h.Put(R(B * T * C, 45)), h.Put(qkv), h.Put(output), h.Put(lse), B, T, C, NH, causal);
            return [("dqkv", dqkv)];
        });

    private static OpCase AttentionKvForward(int B, int Tq, int pos, int maxT, int C, int NH) => new(
        $"AttentionKvForward B={B} Tq={Tq} pos={pos} maxT={maxT} C={C} NH={NH}", Op.AttentionKv, Transcendental, h =>
        {
            // The caches start full of values: rows < pos are earlier tokens, rows ≥ pos + Tq must stay as they are.
            TensorView kCache = h.Put(R(B * maxT * C, 50, 2f)), vCache = h.Put(R(B * maxT * C, 51));
            TensorView output = h.Put(R(B * Tq * C, 52, 100f));
            h.Backend.AttentionKvForward(output, kCache, vCache, h.Put(R(B * Tq * 3 * C, 53, 2f)), B, Tq, pos, maxT, C, NH);
            return [("out", output), ("kCache", kCache), ("vCache", vCache)];
        });

    private static OpCase GeluForward(int N) => new(
        $"GeluForward N={N}", Op.Gelu, Transcendental, h =>
        {
            // Scale 5 reaches tanh's saturation on both sides.
            TensorView output = h.Put(R(N, 60, 100f));
            h.Backend.GeluForward(output, h.Put(R(N, 61, 5f)), N);
            return [("out", output)];
        });

    private static OpCase GeluBackward(int N) => new(
        $"GeluBackward N={N}", Op.Gelu, Transcendental, h =>
        {
            TensorView dinp = h.Put(R(N, 62));
            h.Backend.GeluBackward(dinp, h.Put(R(N, 63, 5f)), h.Put(R(N, 64)), N);
            return [("dinp", dinp)];
        });

    private static OpCase ResidualForward(int N) => new(
        $"ResidualForward N={N}", Op.Residual, Elementwise, h =>
        {
            TensorView output = h.Put(R(N, 70, 100f));
            h.Backend.ResidualForward(output, h.Put(R(N, 71)), h.Put(R(N, 72)), N);
            return [("out", output)];
        });

    private static OpCase ResidualBackward(int N) => new(
        $"ResidualBackward N={N}", Op.Residual, Elementwise, h =>
        {
            TensorView da = h.Put(R(N, 73)), db = h.Put(R(N, 74));
            h.Backend.ResidualBackward(da, db, h.Put(R(N, 75)), N);
            return [("da", da), ("db", db)];
        });

    // The pad columns V..Vp start as garbage: the op must write zeros there, whatever they held.
    private static OpCase SoftmaxCrossEntropyForward(int N, int V, int Vp, bool inPlace) => new(
        $"SoftmaxCrossEntropyForward N={N} V={V} Vp={Vp} inPlace={inPlace}", Op.SoftmaxCrossEntropy, Transcendental, h =>
        {
            // Scale 8 gives peaky rows whose small probabilities underflow a naive exp-sum.
            TensorView logits = h.Put(R(N * Vp, 80, 8f)), losses = h.Put(R(N, 81, 100f));
            TensorView probs = inPlace ? logits : h.Put(R(N * Vp, 82, 100f));
            h.Backend.SoftmaxCrossEntropyForward(losses, probs, logits, Targets(N, V, 83), N, V, Vp);
            return [("losses", losses), ("probs", probs)];
        });

    private static OpCase SoftmaxCrossEntropyBackward(int N, int V, int Vp, bool inPlace) => new(
        $"SoftmaxCrossEntropyBackward N={N} V={V} Vp={Vp} inPlace={inPlace}", Op.SoftmaxCrossEntropy, Sums, h =>
        {
            int[] targets = Targets(N, V, 84);
            float[] probs = R(N * Vp, 87, 100f);
            Ref.SoftmaxCrossEntropy.Forward<float>(new float[N], probs, R(N * Vp, 85, 8f), targets, N, V, Vp);
            // Garbage where a forward leaves zeros: the backward must not read the pad columns.
            for (int n = 0; n < N; n++)
                for (int i = V; i < Vp; i++) probs[n * Vp + i] = 1e3f;
            TensorView probsView = h.Put(probs);
            // Garbage in a separate dlogits: the backward must overwrite it, not add to it.
            TensorView dlogits = inPlace ? probsView : h.Put(R(N * Vp, 86, 100f));
            h.Backend.SoftmaxCrossEntropyBackward(dlogits, probsView, targets, 1f / 3, N, V, Vp);
            return [("dlogits", dlogits)];
        });

    private static OpCase AdamW(int N, int step) => new(
        $"AdamW N={N} step={step}", Op.AdamW, Sums, h =>
        {
            // Second moments are non-negative; a large lr and decay make every term of the update visible.
            float[] v = R(N, 90, 0.1f).Select(Math.Abs).ToArray();
            TensorView p = h.Put(R(N, 91)), m = h.Put(R(N, 92, 0.1f)), vv = h.Put(v);
            h.Backend.AdamWUpdate(p, m, vv, h.Put(R(N, 93)), lr: 0.01f, beta1: 0.9f, beta2: 0.999f, eps: 1e-8f, weightDecay: 0.1f, step, gradScale: 0.5f);
            return [("params", p), ("m", m), ("v", vv)];
        });

    // The Llama-family ops. RMSNorm's rows sum squares in another order (Sums); SwiGLU's sigmoid
    // and attention's softmax go through exp (Transcendental); GQA's backward is the attention
    // backward with group sums added to dk and dv (AttentionGrad).

    private static OpCase RmsNormForward(int N, int C) => new(
        $"RmsNormForward N={N} C={C}", Op.RmsNorm, Sums, h =>
        {
            // Scale 3 keeps mean(x²) well away from eps, so rstd is the statistic and not the guard.
            TensorView input = h.Put(R(N * C, 100, 3f)), weight = h.Put(R(C, 101));
            TensorView output = h.Put(R(N * C, 102, 100f)), rstd = h.Put(R(N, 103, 100f));
            h.Backend.RmsNormForward(output, rstd, input, weight, N, C, 1e-6f);
            return [("out", output), ("rstd", rstd)];
        });

    private static OpCase RmsNormBackward(int N, int C) => new(
        $"RmsNormBackward N={N} C={C}", Op.RmsNorm, Sums, h =>
        {
            float[] x = R(N * C, 104), w = R(C, 105), s = new float[N];
            Ref.RmsNorm.Forward<float>(new float[N * C], s, x, w, N, C, 1e-6f);
            TensorView dinp = h.Put(R(N * C, 106)), dweight = h.Put(R(C, 107));
            h.Backend.RmsNormBackward(dinp, dweight, h.Put(R(N * C, 108)), h.Put(x), h.Put(w), h.Put(s), N, C);
            return [("dinp", dinp), ("dweight", dweight)];
        });

    /// <summary>cos/sin tables [P, hs/2] with P past the last position used, so rows beyond it must not be read.</summary>
    private static (float[] Cos, float[] Sin) RopeTables(int hs, int positions) =>
        Ref.Rope.Tables(Ref.Rope.InverseFrequencies(hs, 10000), positions + 3);

    private static OpCase RopeForward(int B, int T, int H, int hs, int pos0, bool inPlace) => new(
        $"RopeForward B={B} T={T} H={H} hs={hs} pos0={pos0} inPlace={inPlace}", Op.Rope, Rotation, h =>
        {
            var (cos, sin) = RopeTables(hs, pos0 + T);
            int n = B * T * H * hs;
            TensorView input = h.Put(R(n, 110)), output = inPlace ? input : h.Put(R(n, 111, 100f));
            h.Backend.RopeForward(output, input, h.Put(cos), h.Put(sin), B, T, H, hs, pos0);
            return [("out", output)];
        });

    private static OpCase RopeBackward(int B, int T, int H, int hs, int pos0) => new(
        $"RopeBackward B={B} T={T} H={H} hs={hs} pos0={pos0}", Op.Rope, Rotation, h =>
        {
            var (cos, sin) = RopeTables(hs, pos0 + T);
            int n = B * T * H * hs;
            TensorView dinp = h.Put(R(n, 112));
            h.Backend.RopeBackward(dinp, h.Put(R(n, 113)), h.Put(cos), h.Put(sin), B, T, H, hs, pos0);
            return [("dinp", dinp)];
        });

    private static OpCase SwiGluForward(int N, bool inPlace) => new(
        $"SwiGluForward N={N} inPlace={inPlace}", Op.SwiGlu, Transcendental, h =>
        {
            // Scale 10 on the gate reaches the sigmoid's saturation on both sides.
            TensorView gate = h.Put(R(N, 120, 10f)), up = h.Put(R(N, 121));
            TensorView output = inPlace ? gate : h.Put(R(N, 122, 100f));
            h.Backend.SwiGluForward(output, gate, up, N);
            return [("out", output)];
        });

    private static OpCase SwiGluBackward(int N) => new(
        $"SwiGluBackward N={N}", Op.SwiGlu, Transcendental, h =>
        {
            TensorView dgate = h.Put(R(N, 123)), dup = h.Put(R(N, 124));
            h.Backend.SwiGluBackward(dgate, dup, h.Put(R(N, 125)), h.Put(R(N, 126, 10f)), h.Put(R(N, 127)), N);
            return [("dgate", dgate), ("dup", dup)];
        });

    private static OpCase GroupedQueryAttentionForward(int B, int T, int NH, int NKV, int hs) => new(
        $"GroupedQueryAttentionForward B={B} T={T} NH={NH} NKV={NKV} hs={hs}", Op.GroupedQueryAttention, Transcendental, h =>
        {
            // Scale 2 on q and k, as for attention: peaky rows show a lost max shift or rescale.
            TensorView q = h.Put(R(B * T * NH * hs, 130, 2f)), k = h.Put(R(B * T * NKV * hs, 131, 2f)), v = h.Put(R(B * T * NKV * hs, 132));
            TensorView output = h.Put(R(B * T * NH * hs, 133, 100f)), lse = h.Put(R(B * NH * T, 134, 100f));
            h.Backend.GroupedQueryAttentionForward(output, lse, q, k, v, B, T, NH, NKV, hs);
            return [("out", output), ("lse", lse)];
        });

    private static OpCase GroupedQueryAttentionBackward(int B, int T, int NH, int NKV, int hs) => new(
        $"GroupedQueryAttentionBackward B={B} T={T} NH={NH} NKV={NKV} hs={hs}", Op.GroupedQueryAttention, AttentionGrad, h =>
        {
            int nq = B * T * NH * hs, nkv = B * T * NKV * hs;
            float[] q = R(nq, 135, 2f), k = R(nkv, 136, 2f), v = R(nkv, 137), output = new float[nq], lse = new float[B * NH * T];
            Ref.GroupedQueryAttention.Forward<float>(output, lse, q, k, v, B, T, NH, NKV, hs);
            TensorView dq = h.Put(R(nq, 138)), dk = h.Put(R(nkv, 139)), dv = h.Put(R(nkv, 140));
            h.Backend.GroupedQueryAttentionBackward(dq, dk, dv, h.Put(R(nq, 141)), h.Put(q), h.Put(k), h.Put(v), h.Put(output), h.Put(lse),
                B, T, NH, NKV, hs);
            return [("dq", dq), ("dk", dk), ("dv", dv)];
        });

    private static OpCase GroupedQueryAttentionKvForward(int B, int Tq, int pos, int maxT, int NH, int NKV, int hs) => new(
        $"GroupedQueryAttentionKvForward B={B} Tq={Tq} pos={pos} maxT={maxT} NH={NH} NKV={NKV} hs={hs}", Op.GroupedQueryAttentionKv, Transcendental, h =>
        {
            // As for AttentionKvForward: rows < pos are earlier tokens, rows ≥ pos + Tq must stay as they are.
            int kvw = NKV * hs;
            TensorView kCache = h.Put(R(B * maxT * kvw, 150, 2f)), vCache = h.Put(R(B * maxT * kvw, 151));
            TensorView output = h.Put(R(B * Tq * NH * hs, 152, 100f));
            h.Backend.GroupedQueryAttentionKvForward(output, kCache, vCache, h.Put(R(B * Tq * NH * hs, 153, 2f)),
                h.Put(R(B * Tq * kvw, 154, 2f)), h.Put(R(B * Tq * kvw, 155)), B, Tq, pos, maxT, NH, NKV, hs);
            return [("out", output), ("kCache", kCache), ("vCache", vCache)];
        });
}
