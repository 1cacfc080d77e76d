using Hyper.Runtime.Text;

namespace Hyper.Runtime.IO;

/// <summary>The tokenizer of a model folder: its tokenizer.json when it has one, else the one hyper.json names (or infers).</summary>
public static class ModelTokenizer
{
    /// <summary>Whether the folder carries a Hugging Face tokenizer.json (or the gzipped form).</summary>
    public static bool HasTokenizerJson(string dir) =>
        File.Exists(Path.Combine(dir, HuggingFaceTokenizer.TokenizerFile)) || File.Exists(Path.Combine(dir, HuggingFaceTokenizer.TokenizerFile + ".gz"));

    /// <summary>
    /// The folder's tokenizer. Errors name the file: a broken tokenizer.json is
    /// <see cref="InvalidDataException"/>, one of a kind Hyper does not implement <see cref="NotSupportedException"/>.
    /// </summary>
    public static ITokenizer Of(string dir, TrainingState state) =>
        HasTokenizerJson(dir) ? HuggingFaceTokenizer.Load(dir) : Tokenizers.Create(state.Tokenizer);
}
