namespace Hyper.Kernels.Reference;

/// <summary>How a hypernetwork's input gamma (each coordinate in [0, 1]) is encoded before its first layer.</summary>
public enum HyperEncodingKind
{
    /// <summary>[cos(π·γ/2), sin(π·γ/2)] per coordinate: every coordinate pair has norm 1 (MIP's default).</summary>
    CosSin,
    /// <summary>[γ, 1 − γ] per coordinate: the L1 norm is constant, the L2 norm varies by at most √2.</summary>
    Complement,
    /// <summary>γ itself: the plain parametrization, whose output scales with γ.</summary>
    Raw,
}
