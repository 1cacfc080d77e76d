using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// How far the arena pads the vocabulary: the token embedding / output head gets Vp = V rounded up
/// to a multiple of <see cref="DefaultMultiple"/> rows, and the logits rows of Vp floats. The head
/// is the largest GEMM of a language model and its leading dimension is Vp, so a vocabulary such
/// as GPT-2's 50257 (prime to every vector width) still takes the vectorised matmul paths (llm.c
/// pads to 50304 for the same reason). The pad rows are zero, get zero gradient (the softmax
/// writes zeros into the pad columns of dlogits) and never train; files hold the V real rows only.
/// </summary>
public static class VocabularyPadding
{
    /// <summary>The multiple a model pads to unless its config says otherwise (a multiple of every vector width and of the GPU kernels' tiles).</summary>
    public const int DefaultMultiple = 64;

    /// <summary>
    /// <paramref name="vocab"/> rounded up to a multiple of <paramref name="multiple"/>. Never throws, so
    /// that a config's ToString works on the corrupt values <see cref="Validate"/> reports: an
    /// overflow gives int.MaxValue, a multiple below 1 the vocabulary itself.
    /// </summary>
    public static int Padded(int vocab, int multiple) =>
        multiple < 1 ? vocab : (int)Math.Min(int.MaxValue, ((long)vocab + multiple - 1) / multiple * multiple);

    /// <summary>
    /// Copies the first <paramref name="V"/> columns of <paramref name="rows"/> rows of padded logits
    /// [rows, Vp] on the device into host rows [rows, V], as every caller outside the model sees them.
    /// </summary>
    public static void DownloadRows(IBackend backend, TensorView logits, Span<float> destination, int rows, int V, int Vp)
    {
        if (V == Vp)
        {
            backend.Download(logits.Slice(0, (long)rows * V), destination[..(rows * V)]);
            return;
        }
        for (int r = 0; r < rows; r++)
            backend.Download(logits.Slice((long)r * Vp, V), destination.Slice(r * V, V));
    }

    /// <summary>Throws when <paramref name="multiple"/> is not positive or the padded vocabulary does not fit an int.</summary>
    public static void Validate(int vocab, int multiple)
    {
        if (multiple < 1) throw new ArgumentException($"the vocabulary padding multiple must be at least 1 (got {multiple})");
        if (((long)vocab + multiple - 1) / multiple * multiple > int.MaxValue) throw new ArgumentException($"vocab_size {vocab} padded to a multiple of {multiple} does not fit 32 bits");
    }
}
