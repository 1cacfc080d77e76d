using Hyper.Runtime.Data;
using Hyper.Runtime.Metrics;
using Hyper.Runtime.Text;

namespace Hyper.Cli;

/// <summary>
/// The citation blocker's indexes of corpora (--block-citations), shared by the commands that
/// generate: each corpus is tokenized as the model reads it and indexed once per tokenizer.
/// </summary>
public sealed class CitationIndexes
{
    private readonly Dictionary<string, TokenIndex> _cache = new(StringComparer.Ordinal);

    /// <summary>A loader for <paramref name="tokenizer"/>: path → index, built on first use.</summary>
    public Func<string, TokenIndex> For(ITokenizer tokenizer) => path =>
    {
        string key = Path.GetFullPath(path) + "\n" + tokenizer.Name;
        if (!_cache.TryGetValue(key, out var index)) _cache[key] = index = new TokenIndex(TokenCorpus.Load(path, tokenizer));
        return index;
    };
}
