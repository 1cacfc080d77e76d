using Hyper.Kernels.Reference;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// A fully connected hypernetwork θ = W_L·a_{L−1} + b_L, a_l = leaky_relu(W_l·a_{l−1} + b_l),
/// a_{−1} = E(γ), whose output is every parameter of a target model. The last matmul writes
/// straight into the target's parameter arena and the backward reads the target's gradient
/// arena as its upstream gradient: no copies between the two networks.
/// <para>
/// Its own parameters live in one arena, layer by layer: W_l[out_l, in_l] then b_l[out_l], with
/// in_0 = W (the encoded width), out_L = P (the target's parameter count). With the residual
/// switch b_L is θ0 (see <see cref="HyperNetworkOptions.Residual"/>). The output layer holds
/// P·(H+1) floats for a last hidden width H; that is where nearly all of the hypernetwork is.
/// </para>
/// <para>
/// One weight set at a time: the target's arena holds one θ, so samples with different γ are
/// run group by group (<see cref="Accumulate"/>): generate θ(γ), forward and backward the
/// target on that group, backpropagate into the hypernetwork, next group. A batch with G
/// distinct γ costs G hypernetwork passes and G target passes over smaller batches.
/// </para>
/// </summary>
public sealed class HyperNetwork : IDisposable
{
    private readonly DeviceBuffer _params, _grads, _acts;
    private DeviceBuffer? _m, _v;
    private readonly int[] _in, _out;
    // Activation views: enc[W]; per hidden layer l: pre[l][h_l], act[l][h_l] and their gradients.
    private readonly TensorView _enc;
    private readonly TensorView[] _pre, _act, _dpre, _dact;
    private readonly float[] _gamma;

    /// <summary>The switches this network was built with.</summary>
    public HyperNetworkOptions Options { get; }
    /// <summary>The model whose parameters this network generates.</summary>
    public IHyperTarget Target { get; }
    /// <summary>Where the ops run (the target's backend).</summary>
    public IBackend Backend => Target.Backend;
    /// <summary>Optimizer steps taken.</summary>
    public int Step { get; set; }
    /// <summary>The hypernetwork's parameter arena.</summary>
    public TensorView Parameters => _params.All;
    /// <summary>Its gradient arena (same layout).</summary>
    public TensorView Gradients => _grads.All;
    /// <summary>Layers (hidden ones and the output layer).</summary>
    public int Layers => _in.Length;
    /// <summary>Encoded input width W.</summary>
    public int EncodedWidth => _in[0];

    /// <summary>Builds a hypernetwork for <paramref name="target"/> with zero parameters; call <see cref="Initialize"/> or <see cref="LoadParameters"/>.</summary>
    public HyperNetwork(IHyperTarget target, HyperNetworkOptions options)
    {
        options.Validate();
        Options = options;
        Target = target;
        long P = target.Parameters.Length;
        if (P > int.MaxValue) throw new ArgumentException($"target has {P} parameters; the hypernetwork's output layer supports up to {int.MaxValue}");
        int L = options.Hidden.Length + 1;
        _in = new int[L];
        _out = new int[L];
        _in[0] = HyperEncoding.Width(options.Encoding, options.InputDim);
        for (int l = 0; l < L; l++)
        {
            _out[l] = l < L - 1 ? options.Hidden[l] : (int)P;
            if (l > 0) _in[l] = _out[l - 1];
        }
        long total = 0;
        for (int l = 0; l < L; l++) total += ((long)_in[l] + 1) * _out[l];
        _params = Backend.Allocate(total);
        // The layout the optimizer steps through: no blocks, decay on the weights only.
        Layout = new ParameterLayout(1, Tensors.Select(t => new ParameterLayout.Spec(t.Name, t.Shape, t.Name.EndsWith(".weight", StringComparison.Ordinal), LayoutPart.Head)));
        if (Layout.Total != total) throw new InvalidOperationException($"hypernetwork layout holds {Layout.Total} floats, the arena {total}");
        _grads = Backend.Allocate(total);
        int H = L - 1;
        _acts = Backend.Allocate(_in[0] + 4L * options.Hidden.Sum());
        long o = 0;
        TensorView Next(long n) { var v = _acts.Slice(o, n); o += n; return v; }
        _enc = Next(_in[0]);
        (_pre, _act, _dpre, _dact) = (new TensorView[H], new TensorView[H], new TensorView[H], new TensorView[H]);
        for (int l = 0; l < H; l++) (_pre[l], _act[l], _dpre[l], _dact[l]) = (Next(_out[l]), Next(_out[l]), Next(_out[l]), Next(_out[l]));
        _gamma = new float[options.InputDim];
    }

    /// <summary>Offset of layer <paramref name="l"/>'s weight in the arena; its bias follows the weight.</summary>
    private long Offset(int l)
    {
        long o = 0;
        for (int i = 0; i < l; i++) o += ((long)_in[i] + 1) * _out[i];
        return o;
    }

    /// <summary>Layer l's weight [out_l, in_l] in an arena laid out as the parameters.</summary>
    public TensorView Weight(TensorView arena, int l) => arena.Slice(Offset(l), (long)_in[l] * _out[l]);

    /// <summary>Layer l's bias [out_l] in an arena laid out as the parameters.</summary>
    public TensorView Bias(TensorView arena, int l) => arena.Slice(Offset(l) + (long)_in[l] * _out[l], _out[l]);

    /// <summary>The arena's tensors for <see cref="AdamWOptimizer"/> (weights decay, biases do not).</summary>
    public ParameterLayout Layout { get; }

    /// <summary>Names and shapes of the arena's tensors, in arena order (the checkpoint's tensor names).</summary>
    public IReadOnlyList<(string Name, int[] Shape, long Offset)> Tensors =>
        Enumerable.Range(0, Layers).SelectMany(l => new[]
        {
            ($"layers.{l}.weight", new[] { _out[l], _in[l] }, Offset(l)),
            ($"layers.{l}.bias", new[] { _out[l] }, Offset(l) + (long)_in[l] * _out[l]),
        }).ToList();

    /// <summary>
    /// Initialises from a seed: hidden layers and the output layer per <see cref="HyperNetworkOptions.Init"/>;
    /// with <see cref="HyperNetworkOptions.PerTensorInit"/> each target tensor's rows of the output
    /// layer rescaled so its values at γ = 0.5 have the tensor's <see cref="HyperTargetTensor.Scale"/>
    /// as root mean square; with <see cref="HyperNetworkOptions.Residual"/> the output bias set to the
    /// target's own initialisation from the same seed (so θ0 is the network an ordinary run would start from).
    /// </summary>
    public void Initialize(ulong seed)
    {
        var rng = new Rng(seed ^ 0x9E3779B97F4A7C15UL); // a stream apart from the target's own initialisation
        var host = new float[_params.Length];
        float gain = MathF.Sqrt(2f / (1f + Options.Slope * Options.Slope));
        for (int l = 0; l < Layers; l++)
        {
            var w = host.AsSpan((int)Offset(l), _in[l] * _out[l]);
            var b = host.AsSpan((int)Offset(l) + w.Length, _out[l]);
            if (Options.Init == HyperInit.KaimingFanOut)
            {
                float std = gain / MathF.Sqrt(_out[l]);
                for (int i = 0; i < w.Length; i++) w[i] = (float)rng.NextNormal() * std;
            }
            else
            {
                float bound = 1f / MathF.Sqrt(_in[l]);
                for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
                for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
            }
        }
        Backend.Upload(host, Parameters);
        int last = Layers - 1;
        if (Options.PerTensorInit)
        {
            // The last hidden activation at γ = 0.5 fixes each output row's value up to the row's scale.
            Array.Fill(_gamma, 0.5f);
            ForwardHidden(_gamma);
            var z = new float[_in[last]];
            Backend.Download(_act[last - 1], z);
            var w = host.AsSpan((int)Offset(last), _in[last] * _out[last]);
            int H = _in[last];
            foreach (var t in Target.Tensors)
            {
                double sumSq = 0;
                for (long r = t.Offset; r < t.Offset + t.Count; r++)
                {
                    double h = 0;
                    for (int c = 0; c < H; c++) h += (double)w[(int)r * H + c] * z[c];
                    sumSq += h * h;
                }
                double rms = Math.Sqrt(sumSq / t.Count);
                if (rms == 0) continue; // a dead last layer at γ = 0.5: nothing to rescale
                float scale = (float)(t.Scale / rms);
                for (long i = t.Offset * H; i < (t.Offset + t.Count) * H; i++) w[(int)i] *= scale;
            }
        }
        if (Options.Residual)
        {
            Target.InitializeWeights(seed);
            var theta0 = new float[_out[last]];
            Backend.Download(Target.Parameters, theta0);
            theta0.CopyTo(host.AsSpan((int)Offset(last) + _in[last] * _out[last]));
        }
        Backend.Upload(host, Parameters);
        Step = 0;
    }

    /// <summary>Copies a host arena (laid out as <see cref="Tensors"/>) into the parameters.</summary>
    public void LoadParameters(ReadOnlySpan<float> arena) => Backend.Upload(arena, Parameters);

    /// <summary>Copies the parameters to a host arena.</summary>
    public float[] ReadParameters()
    {
        var host = new float[_params.Length];
        Backend.Download(Parameters, host);
        return host;
    }

    /// <summary>Copies the gradients to a host arena.</summary>
    public float[] ReadGradients()
    {
        var host = new float[_grads.Length];
        Backend.Download(Gradients, host);
        return host;
    }

    private void ForwardHidden(ReadOnlySpan<float> gamma)
    {
        if (gamma.Length != Options.InputDim)
            throw new ArgumentException($"gamma has {gamma.Length} values; the hypernetwork takes {Options.InputDim}");
        foreach (float g in gamma)
            if (!float.IsFinite(g)) throw new ArgumentException($"gamma {g} is not a finite number");
        gamma.CopyTo(_gamma);
        var be = Backend;
        var p = Parameters;
        be.HyperEncodingForward(_enc, gamma, Options.Encoding, 1, Options.InputDim);
        TensorView x = _enc;
        for (int l = 0; l < Layers - 1; l++)
        {
            be.MatmulForward(_pre[l], x, Weight(p, l), Bias(p, l), 1, _in[l], _out[l]);
            be.LeakyReluForward(_act[l], _pre[l], Options.Slope, _out[l]);
            x = _act[l];
        }
    }

    /// <summary>Writes θ(γ) into the target's parameter arena.</summary>
    public void Generate(ReadOnlySpan<float> gamma)
    {
        ForwardHidden(gamma);
        int last = Layers - 1;
        Backend.MatmulForward(Target.Parameters, _act[last - 1], Weight(Parameters, last), Bias(Parameters, last), 1, _in[last], _out[last]);
    }

    /// <summary>
    /// Backpropagates the target's gradient arena through the network of the last
    /// <see cref="Generate"/>, accumulating into <see cref="Gradients"/>.
    /// </summary>
    public void Backward()
    {
        var be = Backend;
        var p = Parameters;
        var g = Gradients;
        int last = Layers - 1;
        be.Zero(_dact[last - 1]);
        be.MatmulBackward(_dact[last - 1], Weight(g, last), Bias(g, last), Target.Gradients, _act[last - 1], Weight(p, last), 1, _in[last], _out[last]);
        for (int l = last - 1; l >= 0; l--)
        {
            be.Zero(_dpre[l]);
            be.LeakyReluBackward(_dpre[l], _pre[l], _dact[l], Options.Slope, _out[l]);
            TensorView dinp = TensorView.Empty; // γ is data: the first layer needs no input gradient
            if (l > 0)
            {
                be.Zero(_dact[l - 1]);
                dinp = _dact[l - 1];
            }
            be.MatmulBackward(dinp, Weight(g, l), Bias(g, l), _dpre[l], l > 0 ? _act[l - 1] : _enc, Weight(p, l), 1, _in[l], _out[l]);
        }
    }

    /// <summary>
    /// One group of samples sharing γ: generates θ(γ), zeroes the target's gradients, runs
    /// <paramref name="runTarget"/> (forward and backward on the group, accumulating into the
    /// target's gradient arena), then backpropagates into this network's gradients (accumulating,
    /// so groups add up). Returns what <paramref name="runTarget"/> returns (the group's loss).
    /// </summary>
    public float Accumulate(ReadOnlySpan<float> gamma, Func<float> runTarget)
    {
        Generate(gamma);
        Target.ZeroGradients();
        float loss = runTarget();
        Backward();
        return loss;
    }

    /// <summary>Sets the hypernetwork's gradients to zero (once per optimizer step).</summary>
    public void ZeroGradients() => Backend.Zero(Gradients);

    /// <summary>Global L2 norm of the hypernetwork's gradients.</summary>
    public double GradientNorm() => Math.Sqrt(Backend.SumOfSquares(Gradients));

    /// <summary>AdamW's first and second moments (allocated, zero, on first use), for saving and resuming.</summary>
    public (TensorView M, TensorView V) OptimizerState()
    {
        _m ??= Backend.Allocate(_params.Length);
        _v ??= Backend.Allocate(_params.Length);
        return (_m.All, _v.All);
    }

    /// <summary>
    /// One AdamW step with global-norm clipping (as <see cref="Gpt2.Update"/>); weight decay on
    /// the weights only, not on the biases (θ0 included). Returns the norm before clipping (pass
    /// it in when already computed).
    /// </summary>
    public double Update(float lr, AdamWSettings s, double? gradNorm = null)
    {
        _m ??= Backend.Allocate(_params.Length);
        _v ??= Backend.Allocate(_params.Length);
        double norm = gradNorm ?? GradientNorm();
        Step++;
        AdamWOptimizer.Update(Backend, Layout, Parameters, Gradients, _m.All, _v.All, lr, s, Step, norm);
        return norm;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _params.Dispose();
        _grads.Dispose();
        _acts.Dispose();
        _m?.Dispose();
        _v?.Dispose();
    }
}
