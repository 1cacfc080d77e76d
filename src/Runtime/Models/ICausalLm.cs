using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// A causal language model over one op set (<see cref="IBackend"/>), as the trainers, the
/// evaluators and the generator see it: one arena of parameters and one of gradients laid out by
/// <see cref="Layout"/>, forward to the loss, backward, one AdamW step, and a KV-cache decoder.
/// An architecture is one class implementing this plus its entry in <see cref="Architectures"/>.
/// </summary>
public interface ICausalLm : IDisposable
{
    /// <summary>Hyperparameters.</summary>
    IModelConfig Config { get; }

    /// <summary>Where the ops run.</summary>
    IBackend Backend { get; }

    /// <summary>Where each tensor sits in the parameter (and gradient) arena.</summary>
    ParameterLayout Layout { get; }

    /// <summary>Optimizer steps taken (AdamW's bias correction uses it).</summary>
    int Step { get; set; }

    /// <summary>The parameter arena.</summary>
    TensorView Parameters { get; }

    /// <summary>The gradient arena (same layout as <see cref="Parameters"/>).</summary>
    TensorView Gradients { get; }

    /// <summary>
    /// The logits [B·T, Vp] of the last forward (<see cref="IModelConfig.PaddedVocabSize"/>: only the
    /// first V of a row are the vocabulary, the rest zero); after a forward with targets they hold
    /// the softmax probabilities instead.
    /// </summary>
    TensorView Logits { get; }

    /// <summary>Null: every parameter trains; N: only the last N blocks and what follows them (see <see cref="ParameterLayout.Trainable"/>).</summary>
    int? TrainLastBlocks { get; set; }

    /// <summary>The layers that use HyperAttention and its settings; null: exact attention everywhere.</summary>
    HyperAttentionSettings? HyperAttention { get; set; }

    /// <summary>The architecture's initialisation from a seed.</summary>
    void InitializeWeights(ulong seed);

    /// <summary>Copies a host arena (laid out as <see cref="Layout"/>) into the parameters.</summary>
    void LoadParameters(ReadOnlySpan<float> arena);

    /// <summary>Copies the parameters out to a host arena.</summary>
    float[] ReadParameters();

    /// <summary>Copies the gradients out to a host arena.</summary>
    float[] ReadGradients();

    /// <summary>
    /// Runs the model on tokens [B,T]. With targets [B,T] it returns the mean cross-entropy over
    /// the targets that are not negative; without targets it returns NaN and leaves the logits.
    /// </summary>
    float Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int B, int T);

    /// <summary>Sets the gradients that train to zero (every one, unless <see cref="TrainLastBlocks"/> freezes some).</summary>
    void ZeroGradients();

    /// <summary>Backpropagates the mean loss of the last forward, accumulating into <see cref="Gradients"/>.</summary>
    void Backward(float lossScale = 1f);

    /// <summary>
    /// Called by <see cref="Backward"/> with l as soon as block l's gradients are final (from the last
    /// block down to the lowest that trains; what lies outside the blocks is final only when
    /// Backward returns), so that they can be sent while the backward goes on. Null: no calls.
    /// </summary>
    Action<int>? BlockGradientsDone { get; set; }

    /// <summary>The global L2 norm of the gradients of the trainable parameters.</summary>
    double GradientNorm();

    /// <summary>One AdamW step; returns the gradient norm before clipping (pass it in when already computed).</summary>
    double Update(float lr, AdamWSettings s, double? gradNorm = null);

    /// <summary>The AdamW moments (m, then v), for checkpoints.</summary>
    (TensorView M, TensorView V) OptimizerState();

    /// <summary>
    /// A KV-cache decoder for <paramref name="batch"/> rows, with a cache of <paramref name="maxT"/>
    /// positions (0: the model's context).
    /// </summary>
    IDecoder CreateDecoder(int batch, int maxT = 0);
}
