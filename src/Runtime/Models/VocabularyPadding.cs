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

    /// <summary><paramref name="vocab"/> rounded up to a multiple of <paramref name="multiple"/> (≥ 1).</summary>
    public static int Padded(int vocab, int multiple) => checked((vocab + multiple - 1) / multiple * multiple);

    /// <summary>Throws when <paramref name="multiple"/> is not positive or the padded vocabulary does not fit an int.</summary>
    public static void Validate(int vocab, int multiple)
    {
        if (multiple < 1) throw new ArgumentException($"the vocabulary padding multiple must be at least 1 (got {multiple})");
        if ((long)vocab + multiple - 1 > int.MaxValue) throw new ArgumentException($"vocab_size {vocab} padded to a multiple of {multiple} does not fit 32 bits");
    }
}
