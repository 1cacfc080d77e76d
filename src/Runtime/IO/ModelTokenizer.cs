using Hyper.Runtime.Models;
using Hyper.Runtime.Text;

namespace Hyper.Runtime.IO;

/// <summary>
/// The tokenizer of a model folder: its tokenizer.json when it has one, else the one hyper.json
/// names (or infers). A checkpoint saved from a model with a tokenizer.json carries a copy of it
/// (and of tokenizer_config.json), and hyper.json says <see cref="FolderTokenizer"/>.
/// </summary>
public static class ModelTokenizer
{
    /// <summary>hyper.json's tokenizer name for "the tokenizer.json in this folder".</summary>
    public const string FolderTokenizer = HuggingFaceTokenizer.TokenizerFile;

    /// <summary>Whether the folder carries a Hugging Face tokenizer.json (or the gzipped form).</summary>
    public static bool HasTokenizerJson(string dir) =>
        File.Exists(Path.Combine(dir, HuggingFaceTokenizer.TokenizerFile)) || File.Exists(Path.Combine(dir, HuggingFaceTokenizer.TokenizerFile + ".gz"));

    /// <summary>
    /// The folder's tokenizer. Errors name the file: a broken tokenizer.json is
    /// <see cref="InvalidDataException"/>, one of a kind Hyper does not implement
    /// <see cref="NotSupportedException"/>; with <paramref name="config"/>, a folder without a
    /// tokenizer.json whose named tokenizer has more ids than the model's vocabulary is refused
    /// here, before a corpus is tokenized into ids the model cannot take.
    /// </summary>
    public static ITokenizer Of(string dir, TrainingState state, IModelConfig? config = null)
    {
        if (HasTokenizerJson(dir)) return HuggingFaceTokenizer.Load(dir);
        var tokenizer = Tokenizers.Create(state.Tokenizer);
        if (config is not null && tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException(
                $"{dir}: no {HuggingFaceTokenizer.TokenizerFile}, and the {tokenizer.Name} tokenizer's {tokenizer.VocabSize} ids do not fit the model's vocab_size {config.VocabSize}; put the model's tokenizer.json (and tokenizer_config.json) in the folder");
        return tokenizer;
    }

    /// <summary>hyper.json's tokenizer name for a checkpoint saved with <paramref name="tokenizer"/>.</summary>
    public static string StateName(ITokenizer tokenizer) => tokenizer is HuggingFaceTokenizer ? FolderTokenizer : tokenizer.Name;

    /// <summary>
    /// Puts the tokenizer's files into a checkpoint being written: tokenizer.json and
    /// tokenizer_config.json for a Hugging Face tokenizer; none (stale ones removed) for a named one.
    /// </summary>
    internal static void Save(FolderTransaction tx, ITokenizer? tokenizer)
    {
        tx.Remove(HuggingFaceTokenizer.TokenizerFile + ".gz");
        if (tokenizer is HuggingFaceTokenizer hf)
        {
            AtomicFile.WriteAllBytes(tx.PathOf(HuggingFaceTokenizer.TokenizerFile), hf.TokenizerJsonBytes);
            if (hf.ConfigJsonBytes is { } config) AtomicFile.WriteAllBytes(tx.PathOf(HuggingFaceTokenizer.ConfigFile), config);
            else tx.Remove(HuggingFaceTokenizer.ConfigFile);
        }
        else if (tokenizer is not null)
        {
            tx.Remove(HuggingFaceTokenizer.TokenizerFile);
            tx.Remove(HuggingFaceTokenizer.ConfigFile);
        }
    }
}
