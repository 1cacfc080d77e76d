using Hyper.Runtime;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;
using Hyper.Tests.Support;

namespace Hyper.Tests.Generation;

/// <summary>
/// A tiny GPT-2 (byte vocabulary, 64 positions) overfitted on a 400-character passage, for the generation
/// tests: a fresh initialisation only repeats its last token, while this one has a trained model's shape
/// (entropy ≈ 0.4 nats, top-1 ≈ 0.9) and, like a hyperfitted model, its greedy output copies runs of 20+
/// tokens of its training text, which the citation blocker must stop. Trained once per test run (≈2 s).
/// </summary>
internal static class TinyModel
{
    private static readonly Lazy<float[]> Trained = new(Train);

    /// <summary>The training passage: the first 400 characters of tests/Fixtures/hf_eval.txt.</summary>
    public static string TrainingText => File.ReadAllText(Support.Fixtures.Path("hf_eval.txt"))[..400];

    /// <summary>A fresh copy of the trained model on <paramref name="backend"/>.</summary>
    public static Gpt2 Create(IBackend backend)
    {
        var model = new Gpt2(Gpt2Config.Tiny, backend);
        model.LoadParameters(Trained.Value);
        return model;
    }

    /// <summary>Saves the trained model as a checkpoint folder <paramref name="dir"/> (byte tokenizer).</summary>
    public static void Save(string dir)
    {
        using var backend = BackendRegistry.Create("cpu");
        using var model = Create(backend);
        Checkpoint.Save(dir, model, new TrainingState { Tokenizer = "byte" }, withOptimizer: false);
    }

    /// <summary>The logits [V] after the last of <paramref name="tokens"/>, by a full forward pass (the reference the decoder must match).</summary>
    public static float[] LastLogits(Gpt2 model, int[] tokens)
    {
        int T = tokens.Length, V = model.Config.VocabSize;
        model.Forward(tokens, [], 1, T);
        var all = new float[T * V];
        model.Backend.Download(model.Activations!.Logits, all);
        return all[((T - 1) * V)..];
    }

    /// <summary>400 AdamW steps of 8 random 32-token windows at lr 3e-3: loss ≈ 0.3.</summary>
    private static float[] Train()
    {
        using var backend = BackendRegistry.Create("cpu");
        using var model = new Gpt2(Gpt2Config.Tiny, backend);
        model.InitializeWeights(7);
        int[] data = Tokenizers.Create("byte").Encode(TrainingText);
        var rng = new Rng(1);
        const int B = 8, T = 32;
        var x = new int[B * T];
        var y = new int[B * T];
        for (int step = 0; step < 400; step++)
        {
            for (int b = 0; b < B; b++)
            {
                int at = rng.NextInt(data.Length - T - 1);
                data.AsSpan(at, T).CopyTo(x.AsSpan(b * T));
                data.AsSpan(at + 1, T).CopyTo(y.AsSpan(b * T));
            }
            model.ZeroGradients();
            model.Forward(x, y, B, T);
            model.Backward();
            model.Update(3e-3f, new AdamWSettings { WeightDecay = 0f });
        }
        return model.ReadParameters();
    }
}
