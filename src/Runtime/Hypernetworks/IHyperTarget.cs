using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// What a hypernetwork needs of the model it generates: a parameter arena it writes into, the
/// gradient arena of the same layout it reads its upstream gradient from, the tensors in it, and
/// the model's own initialisation (for θ0). Forward and backward are in <see cref="IHyperTarget{TBatch}"/>.
/// </summary>
public interface IHyperTarget
{
    /// <summary>Where the target's ops run; the hypernetwork runs on the same backend.</summary>
    IBackend Backend { get; }
    /// <summary>The parameter arena (P floats): the hypernetwork's output.</summary>
    TensorView Parameters { get; }
    /// <summary>The gradient arena (same layout): the hypernetwork's upstream gradient.</summary>
    TensorView Gradients { get; }
    /// <summary>The tensors of the arena, in arena order, covering it exactly.</summary>
    IReadOnlyList<HyperTargetTensor> Tensors { get; }
    /// <summary>Writes the target's ordinary initialisation from a seed into <see cref="Parameters"/>.</summary>
    void InitializeWeights(ulong seed);
    /// <summary>Sets <see cref="Gradients"/> to zero.</summary>
    void ZeroGradients();
}
