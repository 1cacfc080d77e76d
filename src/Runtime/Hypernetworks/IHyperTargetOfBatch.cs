namespace Hyper.Runtime.Hypernetworks;

/// <summary>A target that can be run on a batch: forward to a loss, backward into its gradient arena.</summary>
/// <typeparam name="TBatch">What one forward consumes (token windows, feature rows, ...).</typeparam>
public interface IHyperTarget<in TBatch> : IHyperTarget
{
    /// <summary>The mean loss of <paramref name="batch"/> under the current parameters (forward only).</summary>
    float Loss(TBatch batch);

    /// <summary>
    /// Forward on <paramref name="batch"/>, then backward accumulating lossScale·∂loss/∂θ into
    /// <see cref="IHyperTarget.Gradients"/> (not zeroed first). Returns the mean loss.
    /// </summary>
    float ForwardBackward(TBatch batch, float lossScale);
}
