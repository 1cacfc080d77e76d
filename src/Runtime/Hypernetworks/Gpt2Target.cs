using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>A GPT-2 as a hypernetwork target: its parameter and gradient arenas as they are, no copies.</summary>
public sealed class Gpt2Target : IHyperTarget<TokenBatch>
{
    /// <summary>The spread given to tensors GPT-2 initialises to a constant (biases, layernorm gains): its weights' std.</summary>
    public const float ConstantTensorScale = 0.02f;

    /// <summary>Wraps a model (not owned).</summary>
    public Gpt2Target(Gpt2 model)
    {
        Model = model;
        float projStd = 0.02f / MathF.Sqrt(2f * model.Config.NLayer); // as Gpt2.InitializeWeights
        Tensors = model.Layout.Entries.Select(e => new HyperTargetTensor(e.Name, e.Offset, e.Count,
            e.Name is "attprojw" or "fcprojw" ? projStd : e.Decay ? 0.02f : ConstantTensorScale)).ToList();
    }

    /// <summary>The wrapped model.</summary>
    public Gpt2 Model { get; }
    /// <inheritdoc />
    public IBackend Backend => Model.Backend;
    /// <inheritdoc />
    public TensorView Parameters => Model.Parameters;
    /// <inheritdoc />
    public TensorView Gradients => Model.Gradients;
    /// <inheritdoc />
    public IReadOnlyList<HyperTargetTensor> Tensors { get; }
    /// <inheritdoc />
    public void InitializeWeights(ulong seed) => Model.InitializeWeights(seed);
    /// <inheritdoc />
    public void ZeroGradients() => Model.ZeroGradients();
    /// <inheritdoc />
    public float Loss(TokenBatch batch) => Model.Forward(batch.Inputs, batch.Targets, batch.B, batch.T);

    /// <inheritdoc />
    public float ForwardBackward(TokenBatch batch, float lossScale)
    {
        float loss = Model.Forward(batch.Inputs, batch.Targets, batch.B, batch.T);
        Model.Backward(lossScale);
        return loss;
    }
}
