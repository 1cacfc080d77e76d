namespace Hyper.Runtime.Generation;

/// <summary>
/// One generated token and what the model thought of it, all under the raw model distribution
/// softmax(logits) at temperature 1, before any penalty, ban or filter: so the numbers describe the
/// model, whatever decoding chose the token.
/// </summary>
/// <param name="Id">The token id.</param>
/// <param name="LogProb">Natural log of the chosen token's probability.</param>
/// <param name="Entropy">Entropy of the next-token distribution, in nats.</param>
/// <param name="Top1">Probability of the most probable token.</param>
public readonly record struct GeneratedToken(int Id, double LogProb, double Entropy, double Top1);
