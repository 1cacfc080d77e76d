using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hyper.Runtime.Text;

/// <summary>
/// A tokenizer read from a Hugging Face folder's tokenizer.json (and tokenizer_config.json when
/// present): a BPE model, byte-level (GPT-2, Qwen2/3, Llama 3, SmolLM) or SentencePiece-style
/// with byte fallback (Llama 2, TinyLlama, Mistral). Encoding follows Hugging Face's order: added
/// tokens are cut out of the raw text first (those marked normalized: true out of the normalized
/// text), then each stretch between them is normalized, pre-tokenized and run through BPE. No
/// special tokens are added (no BOS, no post-processor template): the text "&lt;s&gt;" is
/// encoded as the special token it names, as in <see cref="Gpt2Tokenizer"/>.
/// <para>
/// Decoding is exact: each id stands for a fixed byte sequence (<see cref="GetTokenBytes"/>), the
/// joined bytes are read as UTF-8, and the decoder's leading-space strip (SentencePiece's "▁"
/// before the first word) is applied to the start of the whole text. Special tokens are
/// decoded as their text. Other model types (WordPiece, Unigram, WordLevel) are refused with a
/// message that names the file.
/// </para>
/// </summary>
public sealed class HuggingFaceTokenizer : ITokenizer
{
    /// <summary>The file names read from a model folder.</summary>
    public const string TokenizerFile = "tokenizer.json", ConfigFile = "tokenizer_config.json";

    private readonly AddedTokenSplitter _rawAdded, _normalizedAdded;
    private readonly TextNormalizer _normalizer;
    private readonly PreTokenizer _preTokenizer;
    private readonly BpeModel _model;
    private readonly byte[]?[] _tokenBytes;   // null where an id has no token (a gap in the ids)
    private readonly int _stripLeadingSpaces;

    private HuggingFaceTokenizer(string name, JsonElement root, JsonElement? config, string source, string configSource)
    {
        Name = name;
        Source = source;
        TokenizerJsonBytes = [];
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: no 'model' object");
        string type = TokenizerJson.OptionalString(model, "type") ?? (model.TryGetProperty("merges", out _) ? "BPE" : "(none)");
        if (type != "BPE")
            throw new NotSupportedException($"{source}: model type '{type}' is not supported; Hyper reads BPE tokenizers (byte-level, or SentencePiece-style with byte fallback)");

        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw new NotSupportedException($"{source}: BPE dropout is not supported (it makes encoding random)");
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (TokenizerJson.OptionalString(model, affix) is { Length: > 0 } value)
                throw new NotSupportedException($"{source}: BPE {affix} '{value}' is not supported");

        var vocab = ReadVocab(model, source);
        var merges = ReadMerges(model, source);
        _model = new BpeModel(vocab, merges, TokenizerJson.OptionalString(model, "unk_token"),
            TokenizerJson.Bool(model, "byte_fallback", false), TokenizerJson.Bool(model, "fuse_unk", false),
            TokenizerJson.Bool(model, "ignore_merges", false), source);

        var added = ReadAddedTokens(root, source);
        _rawAdded = new AddedTokenSplitter(added.Where(t => !t.Normalized));
        _normalizedAdded = new AddedTokenSplitter(added.Where(t => t.Normalized));
        _normalizer = new TextNormalizer(Optional(root, "normalizer"), source);
        _preTokenizer = new PreTokenizer(Optional(root, "pre_tokenizer"), source);
        var decoder = new TokenizerDecoder(Optional(root, "decoder"), source);
        _stripLeadingSpaces = decoder.StripLeadingSpaces;

        int size = 1 + Math.Max(vocab.Count == 0 ? -1 : vocab.Values.Max(), added.Count == 0 ? -1 : added.Max(t => t.Id));
        _tokenBytes = new byte[size][];
        foreach (var (token, id) in vocab) _tokenBytes[id] = decoder.BytesOf(token);
        foreach (var t in added) _tokenBytes[t.Id] = decoder.BytesOf(t.Content);

        var specials = added.Where(t => t.Special).ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        EndOfText = EndOfTextId(config, specials, vocab, configSource);
        SpecialTokens = specials;
    }

    /// <summary>"hf-" and 12 hex digits of the SHA-256 of tokenizer.json: a name that changes with the file (it keys token caches).</summary>
    public string Name { get; }

    /// <summary>The tokenizer.json this was read from (for messages).</summary>
    public string Source { get; }

    /// <summary>The bytes of tokenizer.json (decompressed), to be written beside a checkpoint made with this tokenizer.</summary>
    public byte[] TokenizerJsonBytes { get; private init; }

    /// <summary>The bytes of tokenizer_config.json, or null when there was none.</summary>
    public byte[]? ConfigJsonBytes { get; private init; }

    /// <inheritdoc />
    public int VocabSize => _tokenBytes.Length;

    /// <summary>The id of tokenizer_config.json's <c>eos_token</c>, or null when it names none.</summary>
    public int? EndOfText { get; }

    /// <summary>The special added tokens by their text.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>
    /// Reads <paramref name="dir"/>/tokenizer.json (or tokenizer.json.gz, the gzipped form the
    /// test fixtures keep) and, when present, tokenizer_config.json.
    /// </summary>
    /// <exception cref="FileNotFoundException">The folder has no tokenizer.json.</exception>
    /// <exception cref="InvalidDataException">A file is not valid JSON or lacks what a tokenizer needs.</exception>
    /// <exception cref="NotSupportedException">The model type or a component is one Hyper does not implement.</exception>
    public static HuggingFaceTokenizer Load(string dir)
    {
        string path = Path.Combine(dir, TokenizerFile);
        if (!File.Exists(path) && File.Exists(path + ".gz")) path += ".gz";
        if (!File.Exists(path)) throw new FileNotFoundException($"{Path.Combine(dir, TokenizerFile)}: no such file", path);
        string configPath = Path.Combine(dir, ConfigFile);
        return FromFiles(path, File.Exists(configPath) ? configPath : null);
    }

    /// <summary>Reads a tokenizer.json (gzipped when its name ends in .gz) and an optional tokenizer_config.json.</summary>
    public static HuggingFaceTokenizer FromFiles(string tokenizerPath, string? configPath = null)
    {
        byte[] json = File.ReadAllBytes(tokenizerPath);
        if (tokenizerPath.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            using var gz = new GZipStream(new MemoryStream(json), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            try { gz.CopyTo(plain); }
            catch (InvalidDataException e) { throw new InvalidDataException($"{tokenizerPath}: not a gzip file ({e.Message})"); }
            json = plain.ToArray();
        }
        byte[]? config = configPath is null ? null : File.ReadAllBytes(configPath);
        return FromJson(json, tokenizerPath, config, configPath);
    }

    /// <summary>A tokenizer from the bytes of tokenizer.json (and of tokenizer_config.json); the paths name them in messages.</summary>
    public static HuggingFaceTokenizer FromJson(byte[] tokenizerJson, string source, byte[]? configJson = null, string? configSource = null)
    {
        string name = "hf-" + Convert.ToHexStringLower(SHA256.HashData(tokenizerJson))[..12];
        using var doc = Parse(tokenizerJson, source);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: not a tokenizer.json (the top level is not a JSON object)");
        configSource ??= ConfigFile;
        using var config = configJson is null ? null : Parse(configJson, configSource);
        return new HuggingFaceTokenizer(name, doc.RootElement, config?.RootElement, source, configSource)
        {
            TokenizerJsonBytes = tokenizerJson,
            ConfigJsonBytes = configJson,
        };
    }

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        foreach (var (start, length, token) in SplitAdded(_rawAdded, text))
        {
            if (token is not null) { ids.Add(token.Id); continue; }
            string normalized = _normalizer.Apply(text.Substring(start, length));
            foreach (var (s, l, t) in SplitAdded(_normalizedAdded, normalized))
            {
                if (t is not null) { ids.Add(t.Id); continue; }
                foreach (string piece in _preTokenizer.Split(normalized.Substring(s, l), atStart: start == 0 && s == 0))
                    _model.Encode(piece, ids);
            }
        }
        return [.. ids];
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids) bytes.AddRange(GetTokenBytes(id));
        return StripLeading(Encoding.UTF8.GetString([.. bytes]), _stripLeadingSpaces);
    }

    /// <inheritdoc />
    public ITokenDecoder CreateStreamingDecoder() => new LeadingSpaceStrippingDecoder(new Utf8TokenDecoder(_tokenBytes!), _stripLeadingSpaces);

    /// <summary>The exact bytes id <paramref name="id"/> stands for (before the decoder's leading-space strip).</summary>
    public ReadOnlySpan<byte> GetTokenBytes(int id) => TokenBytes.Of(_tokenBytes!, id);

    /// <summary><paramref name="text"/> without up to <paramref name="count"/> leading spaces.</summary>
    internal static string StripLeading(string text, int count)
    {
        int n = 0;
        while (n < count && n < text.Length && text[n] == ' ') n++;
        return n == 0 ? text : text[n..];
    }

    private static IEnumerable<(int Start, int Length, AddedToken? Token)> SplitAdded(AddedTokenSplitter splitter, string text) =>
        splitter.IsEmpty ? (text.Length == 0 ? [] : [(0, text.Length, null)]) : splitter.Split(text);

    private static JsonDocument Parse(byte[] json, string source)
    {
        try { return JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON ({e.Message})"); }
    }

    private static JsonElement? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) ? v : null;

    private static Dictionary<string, int> ReadVocab(JsonElement model, string source)
    {
        if (!model.TryGetProperty("vocab", out var v) || v.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: BPE model has no 'vocab' object");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
        {
            if (!p.Value.TryGetInt32(out int id) || id < 0)
                throw new InvalidDataException($"{source}: vocab entry '{p.Name}' has id {p.Value}, not a non-negative integer");
            vocab[p.Name] = id;
        }
        return vocab;
    }

    // Merges are "left right" strings (older files) or ["left", "right"] pairs (newer ones).
    private static List<(string, string)> ReadMerges(JsonElement model, string source)
    {
        var merges = new List<(string, string)>();
        if (!model.TryGetProperty("merges", out var m) || m.ValueKind == JsonValueKind.Null) return merges;
        if (m.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{source}: BPE 'merges' is not an array");
        foreach (var e in m.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.String)
            {
                string line = e.GetString()!;
                int space = line.IndexOf(' ');
                if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                    throw new InvalidDataException($"{source}: merge {merges.Count} '{line}' is not two tokens separated by one space");
                merges.Add((line[..space], line[(space + 1)..]));
            }
            else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2 && e[0].ValueKind == JsonValueKind.String && e[1].ValueKind == JsonValueKind.String)
                merges.Add((e[0].GetString()!, e[1].GetString()!));
            else
                throw new InvalidDataException($"{source}: merge {merges.Count} is neither \"a b\" nor [\"a\", \"b\"]");
        }
        return merges;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string source)
    {
        var added = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var a) || a.ValueKind == JsonValueKind.Null) return added;
        if (a.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{source}: 'added_tokens' is not an array");
        foreach (var t in a.EnumerateArray())
        {
            string content = TokenizerJson.String(t, "content", "an added token", source);
            if (!t.TryGetProperty("id", out var idNode) || !idNode.TryGetInt32(out int id) || id < 0)
                throw new InvalidDataException($"{source}: added token '{content}' has no non-negative integer 'id'");
            bool special = TokenizerJson.Bool(t, "special", false);
            added.Add(new AddedToken(content, id, special, TokenizerJson.Bool(t, "normalized", !special),
                TokenizerJson.Bool(t, "lstrip", false), TokenizerJson.Bool(t, "rstrip", false), TokenizerJson.Bool(t, "single_word", false)));
        }
        return added;
    }

    // eos_token is a string or an {"content": ...} object; it may name an added token or a vocab entry.
    private static int? EndOfTextId(JsonElement? config, Dictionary<string, int> specials, Dictionary<string, int> vocab, string configSource)
    {
        if (config is not { ValueKind: JsonValueKind.Object } c || !c.TryGetProperty("eos_token", out var eos)) return null;
        string? text = eos.ValueKind switch
        {
            JsonValueKind.String => eos.GetString(),
            JsonValueKind.Object => TokenizerJson.OptionalString(eos, "content"),
            _ => null,
        };
        if (text is null) return null;
        if (specials.TryGetValue(text, out int id) || vocab.TryGetValue(text, out id)) return id;
        throw new InvalidDataException($"{configSource}: eos_token '{text}' is not a token of tokenizer.json");
    }
}
