using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>A GPT-2 as a hypernetwork target: its parameter and gradient arenas as they are, no copies.</summary>
public sealed class Gpt2Target : IHyperTarget<TokenBatch>
{
    /// <summary>The spread given to tensors GPT-2 initialises to a constant (biases, layernorm gains): its weights' std.</summary>
    public const float ConstantTensorScale = 0.02f;

    /// <summary>
    /// A GPT-2 laid out as a target: without vocabulary padding (<see cref="Gpt2Config.VocabMultiple"/> 1).
    /// The hypernetwork's output layer writes the whole arena, so pad rows would be outputs it has to
    /// learn to keep at zero, and would change the shapes of its files.
    /// </summary>
    public static Gpt2 CreateModel(Gpt2Config config, IBackend backend) => new(config with { VocabMultiple = 1 }, backend);

    /// <summary>Wraps a model (not owned) made by <see cref="CreateModel"/>.</summary>
    /// <exception cref="ArgumentException">The model's arena has pad rows.</exception>
    public Gpt2Target(Gpt2 model)
    {
        if (model.Layout.Parameters != model.Layout.Total)
            throw new ArgumentException($"a hypernetwork target's arena must hold no vocabulary padding (vocab_size {model.Config.VocabSize} is padded to {model.Config.PaddedVocabSize}); make the model with {nameof(Gpt2Target)}.{nameof(CreateModel)}", nameof(model));
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
