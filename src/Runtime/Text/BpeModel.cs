using System.Collections.Concurrent;

namespace Hyper.Runtime.Text;

/// <summary>
/// The BPE model of a tokenizer.json: one pre-tokenized piece in, ids out. The piece starts as one
/// symbol per char (a code point; for byte-level vocabularies, one alphabet char per byte); a char
/// missing from the vocabulary becomes its UTF-8 bytes as &lt;0xNN&gt; tokens (byte fallback) or
/// the unknown token (consecutive ones fused into one where fuse_unk says so). Then the adjacent
/// pair with the lowest merge rank is merged, leftmost first among equal ranks, until no pair
/// has a merge: the same order as Hugging Face's priority-queue BPE, in O(n log n), which matters
/// for SentencePiece-style vocabularies where a piece is a whole line or paragraph.
/// </summary>
internal sealed class BpeModel
{
    // Pieces at most this long are cached; longer ones (SentencePiece paragraphs) rarely repeat.
    private const int CachedPieceChars = 64;
    private const int CacheEntries = 1 << 18;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int[]? _byteIds;          // id of <0xNN> for each byte, when byte fallback is on
    private readonly int? _unk;
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <summary>A model over <paramref name="vocab"/> and <paramref name="merges"/> (token pairs, by rank).</summary>
    /// <exception cref="InvalidDataException">A merge names a token (or makes one) that is not in the vocabulary.</exception>
    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges,
        string? unkToken, bool byteFallback, bool fuseUnk, bool ignoreMerges, string source)
    {
        _vocab = vocab;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (l, r) = merges[rank];
            if (!vocab.TryGetValue(l, out int a) || !vocab.TryGetValue(r, out int b) || !vocab.TryGetValue(l + r, out int ab))
                throw new InvalidDataException($"{source}: merge {rank} ('{l}' '{r}') uses or makes a token that is not in the vocabulary");
            _merges.TryAdd(Pair(a, b), (rank, ab)); // a repeated merge keeps its first (lowest) rank
        }
        if (unkToken is not null)
        {
            if (!vocab.TryGetValue(unkToken, out int unk))
                throw new InvalidDataException($"{source}: unk_token '{unkToken}' is not in the vocabulary");
            _unk = unk;
        }
        if (byteFallback)
        {
            _byteIds = new int[256];
            for (int b = 0; b < 256; b++)
                _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
    }

    /// <summary>Appends the ids of one pre-tokenized piece to <paramref name="ids"/>.</summary>
    public void Encode(string piece, List<int> ids)
    {
        if (piece.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(piece, out int whole))
        {
            ids.Add(whole);
            return;
        }
        if (piece.Length > CachedPieceChars)
        {
            ids.AddRange(Merge(piece));
            return;
        }
        if (!_cache.TryGetValue(piece, out int[]? cached))
        {
            cached = Merge(piece);
            if (_cache.Count < CacheEntries) _cache.TryAdd(piece, cached);
        }
        ids.AddRange(cached);
    }

    private static long Pair(int a, int b) => ((long)a << 32) | (uint)b;

    private int[] Merge(string piece)
    {
        // The symbols as a doubly linked list over arrays; a merged-away symbol has id -1.
        var id = new List<int>(piece.Length);
        for (int i = 0; i < piece.Length; i++)
        {
            int len = char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]) ? 2 : 1;
            string c = piece.Substring(i, len);
            i += len - 1;
            if (_vocab.TryGetValue(c, out int known)) { id.Add(known); continue; }
            if (_byteIds is not null && TryBytes(c, id)) continue;
            if (_unk is int unk && !(_fuseUnk && id.Count > 0 && id[^1] == unk)) id.Add(unk);
            // With no unk token the char is dropped, as Hugging Face's BPE does.
        }

        int n = id.Count;
        int[] sym = [.. id];
        var prev = new int[n];
        var next = new int[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }

        var queue = new PriorityQueue<(int Pos, int NewId), (int Rank, int Pos)>();
        for (int i = 0; i + 1 < n; i++)
            if (_merges.TryGetValue(Pair(sym[i], sym[i + 1]), out var m)) queue.Enqueue((i, m.Id), (m.Rank, i));

        int left = n;
        while (queue.TryDequeue(out var top, out _))
        {
            int p = top.Pos, q = sym[p] < 0 ? -1 : next[p];
            // Stale entries: the left symbol was merged away, or its right neighbour changed.
            if (q < 0 || !_merges.TryGetValue(Pair(sym[p], sym[q]), out var m) || m.Id != top.NewId) continue;
            sym[p] = top.NewId;
            sym[q] = -1;
            next[p] = next[q];
            if (next[q] >= 0) prev[next[q]] = p;
            left--;
            if (prev[p] >= 0 && _merges.TryGetValue(Pair(sym[prev[p]], sym[p]), out var before))
                queue.Enqueue((prev[p], before.Id), (before.Rank, prev[p]));
            if (next[p] >= 0 && _merges.TryGetValue(Pair(sym[p], sym[next[p]]), out var after))
                queue.Enqueue((p, after.Id), (after.Rank, p));
        }

        var result = new int[left];
        for (int i = n > 0 ? 0 : -1, k = 0; i >= 0; i = next[i]) result[k++] = sym[i];
        return result;
    }

    // The <0xNN> ids of the char's UTF-8 bytes, when every one of them is in the vocabulary.
    private bool TryBytes(string c, List<int> ids)
    {
        Span<byte> bytes = stackalloc byte[4];
        int count = System.Text.Encoding.UTF8.GetBytes(c, bytes);
        for (int i = 0; i < count; i++)
            if (_byteIds![bytes[i]] < 0) return false;
        for (int i = 0; i < count; i++) ids.Add(_byteIds![bytes[i]]);
        return true;
    }
}
