namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// One tensor of a target's parameter arena, as the hypernetwork sees it: where it lies and the
/// spread its generated values should start with (<see cref="HyperNetworkOptions.PerTensorInit"/>).
/// </summary>
/// <param name="Name">The target's name for it.</param>
/// <param name="Offset">First float in the arena.</param>
/// <param name="Count">Floats.</param>
/// <param name="Scale">Standard deviation of the target's own initialisation for a random tensor;
/// for one initialised to a constant (a bias, a layernorm gain) the small spread the target allows around it.</param>
public sealed record HyperTargetTensor(string Name, long Offset, long Count, float Scale);
