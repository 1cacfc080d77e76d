namespace Hyper.Runtime.Hypernetworks;

/// <summary>How the hypernetwork's own weights start.</summary>
public enum HyperInit
{
    /// <summary>W ~ N(0, g²/fan_out), g = √(2/(1+slope²)) (Kaiming, fan-out mode, for leaky ReLU); biases 0. MIP's choice.</summary>
    KaimingFanOut,
    /// <summary>PyTorch's nn.Linear default: W and b ~ U(−1/√fan_in, 1/√fan_in).</summary>
    Default,
}
