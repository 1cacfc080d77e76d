using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;
using Hyper.Runtime;
using Hyper.Runtime.IO;
using Hyper.Tests.Data;

namespace Hyper.Tests.Support;

/// <summary>The save-and-reload of a model with HyperAttention layers, shared by the architectures' tests.</summary>
public static class HyperAttentionRoundTrip
{
    /// <summary>
    /// Gives <paramref name="model"/> the HyperAttention <paramref name="settings"/>, takes its loss on
    /// (<paramref name="x"/>, <paramref name="y"/>), saves it without optimizer state, loads the folder
    /// on a fresh CPU backend and hands the loaded model, the loss before the save and the folder to
    /// <paramref name="check"/>; disposes <paramref name="model"/> and deletes the folder afterwards.
    /// </summary>
    public static void Run(ICausalLm model, HyperAttentionSettings settings, int[] x, int[] y, int B, int T, Action<ICausalLm, float, string> check)
    {
        string dir = Corpora.TempDir();
        try
        {
            float before;
            using (model)
            {
                model.HyperAttention = settings;
                before = model.Forward(x, y, B, T);
                Checkpoint.Save(dir, model, new TrainingState { Tokenizer = "byte" }, withOptimizer: false);
            }
            var (loaded, _) = Checkpoint.Load(dir, new CpuBackend());
            using (loaded)
            {
                Assert.That(loaded.HyperAttention, Is.Not.Null, "the loaded model has its HyperAttention layers");
                Assert.That(loaded.Forward(x, y, B, T), Is.EqualTo(before), "same weights, hyperplanes and samples: the same loss");
                check(loaded, before, dir);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
