using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;

namespace Hyper.Runtime.Benchmarks;

/// <summary>
/// Attention inputs taken from a trained model (--data model:DIR): the q, k and v its chosen layer
/// computes on real text. The text is run through the model in consecutive windows of its
/// context (n_positions tokens) and the windows' rows are laid end to end until there are n, so
/// lengths beyond the model's context still carry the large, structured scores of real attention.
/// </summary>
public static class ModelAttentionInputs
{
    /// <summary>qkv[1,n,3·H·hs] from heads 0..H−1 of <paramref name="layer"/> (−1: the last) of the model in <paramref name="dir"/>.</summary>
    /// <exception cref="ArgumentException">The heads or head size asked for do not fit the model, or the text is too short.</exception>
    public static float[] Take(string dir, string textPath, int layer, int heads, int headSize, int n)
    {
        using var backend = new CpuBackend();
        var (loaded, state) = Checkpoint.Load(dir, backend);
        using var _ = loaded;
        // The attention inputs are read from GPT-2's per-layer activations.
        var model = loaded as Gpt2 ?? throw new NotSupportedException($"{dir}: attention inputs are taken from GPT-2 models, not {loaded.Config.ModelType}");
        var cfg = model.Config;
        int C = cfg.NEmbd, hs = C / cfg.NHead, T = cfg.NPositions;
        if (headSize != hs) throw new SettingException("Dim", $"{headSize}: the model in {dir} has head size {hs}");
        if (heads > cfg.NHead) throw new SettingException("Heads", $"{heads}: the model in {dir} has {cfg.NHead} heads");
        if (layer < 0) layer += cfg.NLayer;
        if (layer < 0 || layer >= cfg.NLayer) throw new ArgumentException($"layer {layer} is outside the model's {cfg.NLayer} layers");
        var tokens = TokenCorpus.Load(textPath, ModelTokenizer.Of(dir, state, cfg));
        int windows = (n + T - 1) / T;
        if ((long)windows * T > tokens.Length)
            throw new ArgumentException($"{textPath}: {tokens.Length} tokens are fewer than the {windows} windows of {T} that n = {n} needs");

        int width = heads * hs;
        var qkv = new float[(long)n * 3 * width];
        var rows = new float[T * 3 * C];
        for (int w = 0; w < windows; w++)
        {
            model.Forward(tokens.AsSpan(w * T, T), [], 1, T);
            backend.Download(model.Activations![layer].Qkv, rows);
            for (int t = 0; t < T && w * T + t < n; t++)
                for (int part = 0; part < 3; part++)
                    rows.AsSpan(t * 3 * C + part * C, width).CopyTo(qkv.AsSpan(((w * T + t) * 3 + part) * width, width));
        }
        return qkv;
    }
}
