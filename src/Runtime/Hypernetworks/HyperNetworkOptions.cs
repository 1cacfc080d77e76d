using System.Text.Json.Serialization;
using Hyper.Kernels.Reference;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// The shape of a hypernetwork and the switches of Magnitude Invariant Parametrization (MIP), so
/// the paper's ablations can be rerun one switch at a time. <see cref="Mip"/> and
/// <see cref="Plain"/> differ only in <see cref="Encoding"/> and <see cref="Residual"/>, the
/// two parts of MIP; initialisation is shared so a comparison isolates the parametrization.
/// </summary>
public sealed record HyperNetworkOptions
{
    /// <summary>Input encoding E(γ).</summary>
    [JsonPropertyName("encoding"), JsonConverter(typeof(JsonStringEnumConverter<HyperEncodingKind>))]
    public HyperEncodingKind Encoding { get; init; } = HyperEncodingKind.CosSin;

    /// <summary>
    /// θ = θ0 + h(E(γ)): the output layer's bias is θ0, initialised as the target's ordinary
    /// initialisation (hyperlight does the same) and learned; off, that bias starts as the other
    /// biases do.
    /// </summary>
    [JsonPropertyName("residual")] public bool Residual { get; init; } = true;

    /// <summary>Initialisation of the hypernetwork's weights and biases.</summary>
    [JsonPropertyName("init"), JsonConverter(typeof(JsonStringEnumConverter<HyperInit>))]
    public HyperInit Init { get; init; } = HyperInit.KaimingFanOut;

    /// <summary>
    /// Rescale the output layer's rows tensor by tensor so that, at γ = 0.5, each generated tensor
    /// starts with the spread the target gives it (<see cref="HyperTargetTensor.Scale"/>); without
    /// it every tensor gets the same output spread.
    /// </summary>
    [JsonPropertyName("per_tensor_init")] public bool PerTensorInit { get; init; } = true;

    /// <summary>Widths of the hidden layers (each followed by leaky ReLU).</summary>
    [JsonPropertyName("hidden")] public int[] Hidden { get; init; } = [32, 32];

    /// <summary>Coordinates of γ (D); each lies in [0, 1].</summary>
    [JsonPropertyName("input_dim")] public int InputDim { get; init; } = 1;

    /// <summary>Negative slope of the leaky ReLU.</summary>
    [JsonPropertyName("slope")] public float Slope { get; init; } = 0.01f;

    /// <summary>MIP: cos|sin encoding and the residual θ0 + h.</summary>
    public static HyperNetworkOptions Mip => new();

    /// <summary>The plain parametrization: raw γ in, θ = h(γ) out.</summary>
    public static HyperNetworkOptions Plain => new() { Encoding = HyperEncodingKind.Raw, Residual = false };

    /// <summary>Throws with a clear message when the options do not make a network.</summary>
    public void Validate()
    {
        if (InputDim < 1) throw new ArgumentException($"hypernetwork input_dim must be at least 1 (got {InputDim})");
        if (Hidden.Length == 0 || Hidden.Any(h => h < 1)) throw new ArgumentException($"hypernetwork hidden widths must be positive, and at least one (got [{string.Join(", ", Hidden)}])");
        if (!float.IsFinite(Slope) || Slope < 0 || Slope >= 1) throw new ArgumentException($"leaky ReLU slope must be in [0, 1) (got {Slope})");
    }
}
