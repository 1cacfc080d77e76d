namespace Hyper.Runtime.Models;

/// <summary>
/// What every architecture's hyperparameters tell the code that trains, evaluates and generates
/// with any of them. Each architecture's own record (e.g. <see cref="Gpt2Config"/>) keeps its
/// Hugging Face key names and implements this.
/// </summary>
public interface IModelConfig
{
    /// <summary>Hugging Face's <c>model_type</c> (the key of <see cref="Architectures"/>).</summary>
    string ModelType { get; }

    /// <summary>Vocabulary size (V).</summary>
    int VocabSize { get; }

    /// <summary>
    /// Rows of the token embedding / output head in the arena and floats per row of the logits (Vp ≥ V,
    /// see <see cref="VocabularyPadding"/>); only the first V are the vocabulary.
    /// </summary>
    int PaddedVocabSize { get; }

    /// <summary>The longest sequence the model takes (its context, in tokens).</summary>
    int Context { get; }

    /// <summary>Transformer blocks (L).</summary>
    int Layers { get; }

    /// <summary>Width of the residual stream (C).</summary>
    int Channels { get; }

    /// <summary>Attention (query) heads.</summary>
    int Heads { get; }

    /// <summary>Channels per attention head.</summary>
    int HeadSize { get; }

    /// <summary>Model FLOPs of one forward + backward over B·T tokens (for MFU and the benchmarks).</summary>
    double TrainingFlops(int B, int T);

    /// <summary>Throws <see cref="ArgumentException"/> with a clear message when the dimensions do not make a model.</summary>
    void Validate();
}
