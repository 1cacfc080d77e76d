using Hyper.Kernels.Reference;
using Hyper.Runtime.Hypernetworks;
using Hyper.Runtime.Models;

namespace Hyper.Tests.Support;

/// <summary>
/// The hypernetwork and its two targets (a two-layer MLP, a GPT-2) composed from the reference
/// kernels in double precision: the subject of the finite-difference checks, and the oracle the
/// runtime's float <see cref="HyperNetwork"/> is compared with. Written from the math, not from
/// the runtime classes; parameters are laid out as theirs so the two can be compared entry by entry.
/// </summary>
internal sealed class HyperReference
{
    private readonly int[] _in, _out;
    private readonly HyperEncodingKind _kind;
    private readonly int _d;
    private readonly double _slope;
    private double[] _enc = [];
    private double[][] _pre = [], _act = [];

    /// <summary>The hypernetwork's parameters: per layer, the weight [out, in] then the bias [out].</summary>
    public double[][] Phi { get; }

    /// <summary>Widens a runtime hypernetwork's parameters.</summary>
    public HyperReference(HyperNetwork hyper)
    {
        var host = hyper.ReadParameters();
        Phi = hyper.Tensors.Select(t => Check.ToDouble(host.AsSpan((int)t.Offset, t.Shape.Aggregate(1, (a, d) => a * d)))).ToArray();
        int L = hyper.Layers;
        _in = Enumerable.Range(0, L).Select(l => hyper.Tensors[2 * l].Shape[1]).ToArray();
        _out = Enumerable.Range(0, L).Select(l => hyper.Tensors[2 * l].Shape[0]).ToArray();
        (_kind, _d, _slope) = (hyper.Options.Encoding, hyper.Options.InputDim, hyper.Options.Slope);
    }

    /// <summary>θ(γ), keeping the activations for <see cref="Backward"/>.</summary>
    public double[] Theta(double[] gamma)
    {
        int L = _in.Length;
        _enc = new double[_in[0]];
        HyperEncoding.Forward<double>(_enc, gamma, _kind, 1, _d);
        _pre = new double[L - 1][];
        _act = new double[L - 1][];
        double[] x = _enc;
        for (int l = 0; l < L - 1; l++)
        {
            _pre[l] = new double[_out[l]];
            _act[l] = new double[_out[l]];
            Matmul.Forward<double>(_pre[l], x, Phi[2 * l], Phi[2 * l + 1], 1, _in[l], _out[l]);
            LeakyRelu.Forward<double>(_act[l], _pre[l], _slope, _out[l]);
            x = _act[l];
        }
        var theta = new double[_out[L - 1]];
        Matmul.Forward<double>(theta, x, Phi[2 * L - 2], Phi[2 * L - 1], 1, _in[L - 1], _out[L - 1]);
        return theta;
    }

    /// <summary>Accumulates ∂/∂φ of Σ dθ·θ (for the last <see cref="Theta"/>) into <paramref name="dphi"/> (laid out as <see cref="Phi"/>).</summary>
    public void Backward(double[] dtheta, double[][] dphi)
    {
        int L = _in.Length;
        var dx = new double[_in[L - 1]];
        Matmul.Backward<double>(dx, dphi[2 * L - 2], dphi[2 * L - 1], dtheta, _act[L - 2], Phi[2 * L - 2], 1, _in[L - 1], _out[L - 1]);
        for (int l = L - 2; l >= 0; l--)
        {
            var dpre = new double[_out[l]];
            LeakyRelu.Backward<double>(dpre, _pre[l], dx, _slope, _out[l]);
            dx = new double[_in[l]];
            Matmul.Backward<double>(l > 0 ? dx : [], dphi[2 * l], dphi[2 * l + 1], dpre, l > 0 ? _act[l - 1] : _enc, Phi[2 * l], 1, _in[l], _out[l]);
        }
    }

    /// <summary>Zeroed arrays shaped as <see cref="Phi"/>.</summary>
    public double[][] ZeroLike() => Phi.Select(p => new double[p.Length]).ToArray();

    /// <summary>Mean cross-entropy of the MLP [w1[H,In], b1[H], w2[K,H], b2[K]] on x[N,In]; adds its gradient to <paramref name="dtheta"/> when given.</summary>
    public static double MlpLoss(double[] theta, int In, int H, int K, double[] x, int[] labels, double[]? dtheta)
    {
        int N = labels.Length;
        var w1 = theta.AsSpan(0, H * In);
        var b1 = theta.AsSpan(H * In, H);
        var w2 = theta.AsSpan(H * In + H, K * H);
        var b2 = theta.AsSpan(H * In + H + K * H, K);
        var h = new double[N * H];
        var a = new double[N * H];
        var probs = new double[N * K];
        var losses = new double[N];
        Matmul.Forward<double>(h, x, w1, b1, N, In, H);
        Gelu.Forward<double>(a, h, N * H);
        Matmul.Forward<double>(probs, a, w2, b2, N, H, K);
        SoftmaxCrossEntropy.Forward<double>(losses, probs, probs, labels, N, K);
        if (dtheta is not null)
        {
            var d = dtheta.AsSpan();
            SoftmaxCrossEntropy.Backward<double>(probs, probs, labels, 1.0 / N, N, K);
            var da = new double[N * H];
            Matmul.Backward<double>(da, d.Slice(H * In + H, K * H), d.Slice(H * In + H + K * H, K), probs, a, w2, N, H, K);
            var dh = new double[N * H];
            Gelu.Backward<double>(dh, h, da, N * H);
            Matmul.Backward<double>([], d.Slice(0, H * In), d.Slice(H * In, H), dh, x, w1, N, In, H);
        }
        return losses.Average();
    }

    /// <summary>
    /// GPT-2's mean next-token loss for θ laid out as <see cref="ParameterLayout"/> (the same
    /// computation as the runtime model, op by op, in double); adds its gradient to <paramref name="dtheta"/> when given.
    /// </summary>
    public static double Gpt2Loss(double[] theta, Gpt2Config cfg, int[] tokens, int[] targets, int B, int T, double[]? dtheta)
    {
        var layout = new ParameterLayout(cfg);
        int C = cfg.NEmbd, L = cfg.NLayer, NH = cfg.NHead, V = cfg.VocabSize, N = B * T;
        double eps = cfg.LayerNormEpsilon;
        Span<double> P(string name) => theta.AsSpan((int)layout[name].Offset, (int)layout[name].Count);
        Span<double> G(string name) => dtheta!.AsSpan((int)layout[name].Offset, (int)layout[name].Count);
        Span<double> Lp(string name, int l) { var s = P(name); int per = s.Length / L; return s.Slice(per * l, per); }
        Span<double> Lg(string name, int l) { var s = G(name); int per = s.Length / L; return s.Slice(per * l, per); }

        double[] New(int n) => new double[n];
        var res = new double[L + 1][];      // residual stream entering layer l; res[L] leaves the last
        var ln1 = new double[L][]; var m1 = new double[L][]; var r1 = new double[L][]; var qkv = new double[L][];
        var atty = new double[L][]; var lse = new double[L][]; var res2 = new double[L][];
        var ln2 = new double[L][]; var m2 = new double[L][]; var r2 = new double[L][]; var fch = new double[L][]; var gel = new double[L][];
        res[0] = New(N * C);
        Encoder.Forward<double>(res[0], tokens, P("wte"), P("wpe"), B, T, C);
        for (int l = 0; l < L; l++)
        {
            (ln1[l], m1[l], r1[l], qkv[l], atty[l], lse[l]) = (New(N * C), New(N), New(N), New(N * 3 * C), New(N * C), New(B * NH * T));
            (res2[l], ln2[l], m2[l], r2[l], fch[l], gel[l]) = (New(N * C), New(N * C), New(N), New(N), New(N * 4 * C), New(N * 4 * C));
            LayerNorm.Forward<double>(ln1[l], m1[l], r1[l], res[l], Lp("ln1w", l), Lp("ln1b", l), N, C, eps);
            Matmul.Forward<double>(qkv[l], ln1[l], Lp("qkvw", l), Lp("qkvb", l), N, C, 3 * C);
            Attention.Forward<double>(atty[l], lse[l], qkv[l], B, T, C, NH, causal: true);
            var proj = New(N * C);
            Matmul.Forward<double>(proj, atty[l], Lp("attprojw", l), Lp("attprojb", l), N, C, C);
            Residual.Forward<double>(res2[l], res[l], proj, N * C);
            LayerNorm.Forward<double>(ln2[l], m2[l], r2[l], res2[l], Lp("ln2w", l), Lp("ln2b", l), N, C, eps);
            Matmul.Forward<double>(fch[l], ln2[l], Lp("fcw", l), Lp("fcb", l), N, C, 4 * C);
            Gelu.Forward<double>(gel[l], fch[l], N * 4 * C);
            var fcproj = New(N * C);
            Matmul.Forward<double>(fcproj, gel[l], Lp("fcprojw", l), Lp("fcprojb", l), N, 4 * C, C);
            res[l + 1] = New(N * C);
            Residual.Forward<double>(res[l + 1], res2[l], fcproj, N * C);
        }
        var lnf = New(N * C); var mf = New(N); var rf = New(N);
        LayerNorm.Forward<double>(lnf, mf, rf, res[L], P("lnfw"), P("lnfb"), N, C, eps);
        var probs = New(N * V);
        Matmul.Forward<double>(probs, lnf, P("wte"), [], N, C, V);
        var losses = New(N);
        SoftmaxCrossEntropy.Forward<double>(losses, probs, probs, targets, N, V);
        double loss = losses.Average();
        if (dtheta is null) return loss;

        SoftmaxCrossEntropy.Backward<double>(probs, probs, targets, 1.0 / N, N, V);
        var dln = New(N * C);
        Matmul.Backward<double>(dln, G("wte"), [], probs, lnf, P("wte"), N, C, V);
        var dres = New(N * C);
        LayerNorm.Backward<double>(dres, G("lnfw"), G("lnfb"), dln, res[L], P("lnfw"), mf, rf, N, C);
        for (int l = L - 1; l >= 0; l--)
        {
            var dgel = New(N * 4 * C);
            Matmul.Backward<double>(dgel, Lg("fcprojw", l), Lg("fcprojb", l), dres, gel[l], Lp("fcprojw", l), N, 4 * C, C);
            var dfch = New(N * 4 * C);
            Gelu.Backward<double>(dfch, fch[l], dgel, N * 4 * C);
            dln = New(N * C);
            Matmul.Backward<double>(dln, Lg("fcw", l), Lg("fcb", l), dfch, ln2[l], Lp("fcw", l), N, C, 4 * C);
            LayerNorm.Backward<double>(dres, Lg("ln2w", l), Lg("ln2b", l), dln, res2[l], Lp("ln2w", l), m2[l], r2[l], N, C);
            var datty = New(N * C);
            Matmul.Backward<double>(datty, Lg("attprojw", l), Lg("attprojb", l), dres, atty[l], Lp("attprojw", l), N, C, C);
            var dqkv = New(N * 3 * C);
            Attention.Backward<double>(dqkv, datty, qkv[l], atty[l], lse[l], B, T, C, NH, causal: true);
            dln = New(N * C);
            Matmul.Backward<double>(dln, Lg("qkvw", l), Lg("qkvb", l), dqkv, ln1[l], Lp("qkvw", l), N, C, 3 * C);
            LayerNorm.Backward<double>(dres, Lg("ln1w", l), Lg("ln1b", l), dln, res[l], Lp("ln1w", l), m1[l], r1[l], N, C);
        }
        Encoder.Backward<double>(G("wte"), G("wpe"), dres, tokens, B, T, C);
        return loss;
    }
}
