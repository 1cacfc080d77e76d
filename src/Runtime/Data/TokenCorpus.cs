using System.Security.Cryptography;
using System.Text;
using Hyper.Runtime.Text;

namespace Hyper.Runtime.Data;

/// <summary>
/// Loads a training corpus as token ids: a token shard as is, a text file through a tokenizer,
/// with the tokens of a text cached as a shard so the next load skips tokenization.
/// </summary>
public static class TokenCorpus
{
    /// <summary>Environment variable that overrides <see cref="DefaultCacheDir"/>.</summary>
    public const string CacheEnvironmentVariable = "HYPER_CACHE";

    /// <summary>Where token caches go: <c>$HYPER_CACHE</c> if set, else <c>~/.cache/hyper/tokens</c>.</summary>
    public static string DefaultCacheDir
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable(CacheEnvironmentVariable);
            if (!string.IsNullOrEmpty(env)) return env;
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, ".cache", "hyper", "tokens");
        }
    }

    /// <summary>
    /// The tokens of <paramref name="path"/>. A file that starts with the shard magic is read as a
    /// shard (its ids must be below <paramref name="tokenizer"/>'s vocabulary size); a <c>.bin</c>
    /// file without the magic is an error; anything else is UTF-8 text, tokenized once and cached in
    /// <paramref name="cacheDir"/> (default <see cref="DefaultCacheDir"/>) under a name that hashes the
    /// full path, length, last-write time and tokenizer name, so an edited file is tokenized again.
    /// Throws <see cref="FileNotFoundException"/> for a missing file and <see cref="InvalidDataException"/>
    /// for an empty corpus, invalid UTF-8, a bad shard or ids the tokenizer does not cover.
    /// </summary>
    public static int[] Load(string path, ITokenizer tokenizer, string? cacheDir = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (Directory.Exists(path)) throw new IOException($"corpus {path} is a folder, not a file");
        if (!File.Exists(path)) throw new FileNotFoundException($"corpus {path} does not exist", path);

        if (TokenShard.HasMagic(path)) return CheckTokens(path, TokenShard.Read(path), tokenizer);
        if (Path.GetExtension(path).Equals(".bin", StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"{path} has the .bin extension of a token shard but does not start with the shard magic {TokenShard.Magic}");

        string cache = CachePath(path, tokenizer, cacheDir);
        if (File.Exists(cache))
        {
            try
            {
                return CheckTokens(cache, TokenShard.Read(cache), tokenizer);
            }
            catch (InvalidDataException)
            {
                // A damaged cache entry is only a lost shortcut: tokenize again and overwrite it.
            }
        }

        int[] tokens = CheckTokens(path, tokenizer.Encode(ReadText(path)), tokenizer);
        try
        {
            TokenShard.Write(cache, tokens);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unwritable cache costs speed on the next load, not correctness of this one.
        }
        return tokens;
    }

    /// <summary>The cache file that <see cref="Load"/> uses for the text file <paramref name="path"/>.</summary>
    public static string CachePath(string path, ITokenizer tokenizer, string? cacheDir = null)
    {
        var info = new FileInfo(path);
        string key = $"{info.FullName}\n{info.Length}\n{info.LastWriteTimeUtc.Ticks}\n{tokenizer.Name}";
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        string name = $"{Path.GetFileNameWithoutExtension(path)}.{tokenizer.Name}.{hash}.bin";
        return Path.Combine(cacheDir ?? DefaultCacheDir, name);
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"corpus {path} is neither a token shard nor valid UTF-8 text: {e.Message}", e);
        }
    }

    private static int[] CheckTokens(string path, int[] tokens, ITokenizer tokenizer)
    {
        if (tokens.Length == 0) throw new InvalidDataException($"corpus {path} is empty");
        int max = 0;
        foreach (int t in tokens) max = Math.Max(max, t);
        if (max >= tokenizer.VocabSize)
            throw new InvalidDataException(
                $"corpus {path} holds token id {max}, outside the {tokenizer.VocabSize}-id vocabulary of tokenizer '{tokenizer.Name}'");
        return tokens;
    }
}
