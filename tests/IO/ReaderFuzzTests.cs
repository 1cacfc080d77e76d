using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Kernels.Reference;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;
using Hyper.Tests.Data;

namespace Hyper.Tests.IO;

/// <summary>
/// Seeded mutations of valid files, read through the calls a command makes (`hyper eval`,
/// `convert`, `train --data`). Every case must end in a correct load or an exception the CLI
/// turns into a one-line error (exit 2) naming the file; anything else, a case over its time
/// budget, or one that allocates far more than the file's size, is a failure that names the
/// seed, the case and the mutation. HYPER_FUZZ_CASES (cases per target) and HYPER_FUZZ_SEED
/// override the defaults.
/// </summary>
[NonParallelizable]
public class ReaderFuzzTests
{
    /// <summary>The files a case can damage.</summary>
    public enum Target { ModelSafetensors, OptimizerSafetensors, HyperAttentionSafetensors, ConfigJson, HyperJson, LlmcV3, LlmcV5, TokenShard }

    // Sized so the whole fixture takes about half a minute on two shared cores in Release.
    const int DefaultCases = 5000;
    const int DefaultSeed = 13;

    // A case that takes longer is a hang for a file of a few kilobytes (loads take milliseconds).
    static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(5);

    // The types Program.Main maps to exit 2 (CliException aside, which Runtime never throws).
    static readonly Type[] CleanErrors = [typeof(ArgumentException), typeof(IOException), typeof(InvalidDataException), typeof(UnauthorizedAccessException), typeof(NotSupportedException)];

    static readonly Gpt2Config SeedConfig = new() { NLayer = 2, NHead = 2, NEmbd = 8, NPositions = 8, VocabSize = 20 };

    string _root = "";
    string _seedDir = "";
    readonly Dictionary<Target, byte[]> _pristine = [];

    static int Cases => int.TryParse(Environment.GetEnvironmentVariable("HYPER_FUZZ_CASES"), CultureInfo.InvariantCulture, out int n) ? n : DefaultCases;

    static int Seed => int.TryParse(Environment.GetEnvironmentVariable("HYPER_FUZZ_SEED"), CultureInfo.InvariantCulture, out int s) ? s : DefaultSeed;

    [OneTimeSetUp]
    public void WriteSeedFiles()
    {
        _root = Corpora.TempDir();
        _seedDir = Path.Combine(_root, "seed");
        using (var backend = new CpuBackend())
        using (var model = new Gpt2(SeedConfig, backend))
        {
            model.InitializeWeights(5);
            model.HyperAttention = HyperAttentionSettings.Create(
                new HyperAttentionConfig { BlockSize = 4, SampleSize = 4, LshProjections = 3, MinSeqLen = 8 }, "last:1", SeedConfig, seed: 9);
            var state = new TrainingState { Tokenizer = "byte", Step = 3, DataPosition = 12, Seed = 7, Train = new() { ["lr"] = "0.001", ["batch"] = "2" } };
            Checkpoint.Save(_seedDir, model, state, withOptimizer: true);
            var arena = model.ReadParameters();
            LlmcCheckpoint.Write(Path.Combine(_root, "v3.bin"), SeedConfig, arena, version: 3);
            LlmcCheckpoint.Write(Path.Combine(_root, "v5.bin"), SeedConfig, arena, version: 5);
        }
        TokenShard.Write(Path.Combine(_root, "shard.bin"), Enumerable.Range(0, 300).Select(i => i * 7 % 256).ToArray());
        foreach (var t in Enum.GetValues<Target>()) _pristine[t] = File.ReadAllBytes(SeedPath(t));
    }

    [OneTimeTearDown]
    public void DeleteSeedFiles() => Directory.Delete(_root, recursive: true);

    string SeedPath(Target t) => t switch
    {
        Target.ModelSafetensors => Path.Combine(_seedDir, Checkpoint.ModelFile),
        Target.OptimizerSafetensors => Path.Combine(_seedDir, Checkpoint.OptimizerFile),
        Target.HyperAttentionSafetensors => Path.Combine(_seedDir, HyperAttentionFile.FileName),
        Target.ConfigJson => Path.Combine(_seedDir, Checkpoint.ConfigFile),
        Target.HyperJson => Path.Combine(_seedDir, Checkpoint.StateFile),
        Target.LlmcV3 => Path.Combine(_root, "v3.bin"),
        Target.LlmcV5 => Path.Combine(_root, "v5.bin"),
        Target.TokenShard => Path.Combine(_root, "shard.bin"),
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    static bool InFolder(Target t) => t is Target.ModelSafetensors or Target.OptimizerSafetensors or Target.HyperAttentionSafetensors or Target.ConfigJson or Target.HyperJson;

    [Test]
    public void TheUnmutatedSeedFilesLoad()
    {
        using var backend = new CpuBackend();
        foreach (var t in Enum.GetValues<Target>())
        {
            var outcome = Load(t, SeedPath(t), backend);
            Assert.That(outcome, Is.EqualTo("ok"), $"{t} seed file");
        }
    }

    [TestCaseSource(nameof(AllTargets))]
    public void MutatedFilesLoadOrFailCleanly(Target target)
    {
        int cases = Cases, seed = Seed;
        // Each case reads a private copy: a folder target gets the whole checkpoint copied once,
        // and the one damaged file is rewritten before every case.
        string dir = Path.Combine(_root, "case-" + target);
        string path;
        if (InFolder(target))
        {
            Directory.CreateDirectory(dir);
            foreach (var f in Directory.GetFiles(_seedDir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            path = Path.Combine(dir, Path.GetFileName(SeedPath(target)));
        }
        else
        {
            Directory.CreateDirectory(dir);
            path = Path.Combine(dir, Path.GetFileName(SeedPath(target)));
        }
        // The message must name the damaged file, or (for a folder) a file of the folder.
        string named = InFolder(target) ? dir : path;
        long folderExtra = InFolder(target) ? Directory.GetFiles(dir).Sum(f => new FileInfo(f).Length) - _pristine[target].Length : 0;

        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        using var backend = new CpuBackend();
        for (int i = 0; i < cases; i++)
        {
            var rng = new Random(unchecked((seed * 31 + (int)target) * 1_000_003 + i));
            var mutator = new Mutator(rng, target);
            byte[] bytes = mutator.Mutate(_pristine[target]);
            File.WriteAllBytes(path, bytes);
            string where = $"HYPER_FUZZ_SEED={seed} {target} case {i} ({mutator.Description})";

            long budget = 64L << 20, allocated = 0;
            budget += 16 * (bytes.Length + folderExtra);
            Exception? error = null;
            string outcome = "";
            var run = Task.Run(() =>
            {
                long before = GC.GetTotalAllocatedBytes(precise: true);
                try { outcome = Load(target, path, backend); }
                catch (Exception e) { error = e; }
                allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            });
            if (!run.Wait(CaseTimeout))
            {
                failures.Add($"{where}: still running after {CaseTimeout.TotalSeconds} s (a hang)");
                break; // the stuck load still holds the file
            }
            if (allocated > budget)
                failures.Add($"{where}: allocated {allocated:N0} bytes for a {bytes.Length:N0}-byte file (budget {budget:N0})");
            if (error is null)
            {
                Count(tally, "ok");
                continue;
            }
            Count(tally, error.GetType().Name);
            if (!CleanErrors.Any(c => c.IsInstanceOfType(error)))
                failures.Add($"{where}: {error.GetType().Name} is not a clean error: {error}");
            else if (!error.Message.Contains(named, StringComparison.Ordinal))
                failures.Add($"{where}: the message does not name {named}: {error.GetType().Name}: {error.Message}");
            _ = outcome;
        }
        string summary = $"fuzz {target}: {cases} cases (seed {seed}) in {clock.Elapsed.TotalSeconds:F1} s: " +
            string.Join(", ", tally.Select(kv => $"{kv.Key} {kv.Value}")) + $"; {failures.Count} failures";
        TestContext.Progress.WriteLine(summary);
        // dotnet test shows Progress only at normal verbosity; .ci/run prints this file after the run.
        lock (TallyLock) File.AppendAllText(Path.Combine(TestContext.CurrentContext.WorkDirectory, TallyFile), summary + "\n");
        if (failures.Count > 0)
            Assert.Fail($"{failures.Count} of {cases} cases failed; the first:\n" + string.Join("\n", failures.Take(10)));
    }

    /// <summary>The file the per-target tallies are appended to, in the test's work directory.</summary>
    public const string TallyFile = "fuzz-tally.txt";
    static readonly object TallyLock = new();

    static IEnumerable<Target> AllTargets() => Enum.GetValues<Target>();

    static void Count(SortedDictionary<string, int> tally, string key) => tally[key] = tally.GetValueOrDefault(key) + 1;

    /// <summary>Reads the file as a command would, and checks what a load that succeeds returned.</summary>
    static string Load(Target target, string path, IBackend backend)
    {
        switch (target)
        {
            case Target.LlmcV3 or Target.LlmcV5:
                {
                    // hyper convert --in x.bin: read, then load into a model.
                    var (config, arena) = LlmcCheckpoint.Read(path);
                    Expect(arena.Length == new ParameterLayout(config).Total, $"arena of {arena.Length} floats for {config}");
                    return "ok";
                }
            case Target.TokenShard:
                {
                    // hyper train/eval --data x.bin with the byte tokenizer.
                    var tokens = TokenCorpus.Load(path, Tokenizers.Create("byte"));
                    long expected = (new FileInfo(path).Length - TokenShard.HeaderBytes) / 2;
                    Expect(tokens.Length == expected, $"{tokens.Length} tokens from a file that holds {expected}");
                    Expect(tokens.All(x => x is >= 0 and < 256), "a token outside the byte vocabulary");
                    return "ok";
                }
            default:
                {
                    string dir = Path.GetDirectoryName(path)!;
                    if (path.EndsWith(".safetensors", StringComparison.Ordinal)) CheckSafetensors(path);
                    // hyper eval / generate / train --resume: the whole folder, optimizer included.
                    if (!Checkpoint.IsCheckpoint(dir)) throw new InvalidDataException($"{dir}: not a checkpoint");
                    var (model, state) = Checkpoint.Load(dir, backend, withOptimizer: true);
                    using (model)
                    {
                        _ = Tokenizers.Create(state.Tokenizer);
                        Expect(model.ReadParameters().Length == model.Layout.Total, "parameter count");
                        if (model.HyperAttention is { } h) Expect(h.LayerCount == model.Config.Layers, "hyperattention layer count");
                    }
                    // hyper convert --in folder
                    var config = Checkpoint.ReadConfig(dir);
                    _ = Checkpoint.ReadWeights(dir, config, out _);
                    _ = Checkpoint.ReadState(dir, config);
                    return "ok";
                }
        }
    }

    /// <summary>
    /// A safetensors file that opens must be what its header claims: every tensor's byte span
    /// is its shape's product (computed without overflow) times its element size, within the file.
    /// </summary>
    static void CheckSafetensors(string path)
    {
        using var st = SafeTensors.Open(path);
        long data = new FileInfo(path).Length;
        foreach (var t in st.Tensors)
        {
            BigInteger count = t.Shape.Aggregate(BigInteger.One, (a, d) => a * d);
            int size = t.DType switch { "F64" or "I64" or "U64" => 8, "F32" or "I32" or "U32" => 4, "F16" or "BF16" or "I16" or "U16" => 2, _ => 1 };
            string what = $"tensor '{t.Name}' {t.DType} [{string.Join(", ", t.Shape)}] at [{t.Begin}, {t.End}]";
            Expect(count * size == t.End - t.Begin, $"{what}: the span is not its shape's size");
            Expect(count == t.Count, $"{what}: Count says {t.Count}, the shape holds {count}");
            Expect(t.End <= data, $"{what}: past the end of the file");
            if (t.DType is "F32" or "F16" or "BF16") Expect(st.ReadFloats(t.Name).Length == count, $"{what}: ReadFloats length");
        }
    }

    /// <summary>A load that succeeded but returned something its file does not hold.</summary>
    sealed class WrongLoadException(string message) : Exception(message);

    static void Expect(bool condition, string problem)
    {
        if (!condition) throw new WrongLoadException(problem);
    }

    /// <summary>Deterministic damage to one file, described for the failure message.</summary>
    sealed class Mutator(Random rng, Target target)
    {
        readonly List<string> _steps = [];

        public string Description => string.Join("; ", _steps);

        static readonly ulong[] InterestingU64 =
        [
            0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
            0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 100_000_001, 1UL << 40,
        ];

        static readonly string[] InterestingJson =
        [
            "0", "-1", "1", "2", "3", "7", "255", "256", "65536", "2147483647", "2147483648", "-2147483648", "-2147483649",
            "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551615", "1e30", "-1e30", "1e400",
            "1.5", "-0.0", "1e-45", "0.0", "\"\"", "\"abc\"", "\"NaN\"", "\"Infinity\"", "\"-1\"", "\"3\"", "\"F32\"", "\"F64\"",
            "\"F16\"", "\"BF16\"", "\"I64\"", "\"U8\"", "\"X99\"", "\"all\"", "\"last:0\"", "\"last:99\"", "\"last:1\"", "\"gray\"",
            "\"official\"", "\"byte\"", "\"gpt2\"", "null", "true", "false", "[]", "{}", "[0]", "[0, 0]", "[1, 2, 3]", "[-1]",
            "[65536, 65536, 65536, 65536]", "[2147483647, 2147483647]", "[0, 9223372036854775807]", "[\"0\", 4]", "[[1]]",
            "{\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 0]}",
        ];

        public byte[] Mutate(byte[] original)
        {
            byte[] bytes = original;
            bool json = target is Target.ConfigJson or Target.HyperJson;
            bool safetensors = target is Target.ModelSafetensors or Target.OptimizerSafetensors or Target.HyperAttentionSafetensors;
            int roll = rng.Next(10);
            // Structured damage keeps the file parseable enough to reach the checks behind the first one.
            if (json && roll < 6) bytes = Encoding.UTF8.GetBytes(MutateJson(Encoding.UTF8.GetString(bytes), safetensors: false));
            else if (safetensors && roll < 6) bytes = MutateSafetensorsHeader(bytes);
            else if (target is Target.LlmcV3 or Target.LlmcV5 or Target.TokenShard && roll < 4) bytes = MutateBinHeader(bytes);
            else
            {
                int n = 1 + rng.Next(4);
                for (int k = 0; k < n; k++) bytes = MutateBytes(bytes);
            }
            return bytes;
        }

        byte[] MutateBytes(byte[] b)
        {
            var list = new List<byte>(b);
            int Pos() => list.Count == 0 ? 0 : rng.Next(list.Count);
            switch (rng.Next(9))
            {
                case 0:
                    {
                        int p = Pos(), bit = rng.Next(8);
                        if (list.Count > 0) list[p] ^= (byte)(1 << bit);
                        _steps.Add($"flip bit {bit} of byte {p}");
                        break;
                    }
                case 1:
                    {
                        int p = Pos();
                        byte v = new byte[] { 0, 0xFF, 0x7F, 0x80, 1, (byte)'"', (byte)'{', (byte)'}', (byte)',', (byte)'9' }[rng.Next(10)];
                        if (list.Count > 0) list[p] = v;
                        _steps.Add($"byte {p} = 0x{v:X2}");
                        break;
                    }
                case 2:
                    {
                        // Little-endian integers where the headers keep their lengths and counts.
                        int p = rng.Next(3) == 0 ? Pos() : 4 * rng.Next(8);
                        ulong v = InterestingU64[rng.Next(InterestingU64.Length)];
                        int width = rng.Next(2) == 0 ? 4 : 8;
                        var span = new byte[8];
                        BinaryPrimitives.WriteUInt64LittleEndian(span, v);
                        for (int k = 0; k < width && p + k < list.Count; k++) list[p + k] = span[k];
                        _steps.Add($"u{8 * width} at byte {p} = {v}");
                        break;
                    }
                case 3:
                    {
                        int p = Pos();
                        list.RemoveRange(p, list.Count - p);
                        _steps.Add($"truncate to {p} bytes");
                        break;
                    }
                case 4:
                    {
                        int p = Pos(), n = Math.Min(list.Count - p, 1 + rng.Next(64));
                        list.RemoveRange(p, n);
                        _steps.Add($"delete {n} bytes at {p}");
                        break;
                    }
                case 5:
                    {
                        int p = Pos(), n = Math.Min(list.Count - p, 1 + rng.Next(64)), at = Pos();
                        list.InsertRange(at, list.GetRange(p, n));
                        _steps.Add($"insert a copy of {n} bytes from {p} at {at}");
                        break;
                    }
                case 6:
                    {
                        int n = 1 + rng.Next(256);
                        var junk = new byte[n];
                        if (rng.Next(2) == 0) rng.NextBytes(junk);
                        list.AddRange(junk);
                        _steps.Add($"append {n} bytes");
                        break;
                    }
                case 7:
                    {
                        int p = Pos(), n = Math.Min(list.Count - p, 1 + rng.Next(32));
                        for (int k = 0; k < n; k++) list[p + k] = (byte)rng.Next(256);
                        _steps.Add($"randomize {n} bytes at {p}");
                        break;
                    }
                default:
                    {
                        int p = Pos(), n = Math.Min(list.Count - p, 1 + rng.Next(64)), at = Pos();
                        var chunk = list.GetRange(p, n);
                        for (int k = 0; k < n && at + k < list.Count; k++) list[at + k] = chunk[k];
                        _steps.Add($"copy {n} bytes from {p} over {at}");
                        break;
                    }
            }
            return list.ToArray();
        }

        /// <summary>Changes a header word of an llm.c checkpoint or a shard, and sometimes resizes the file to agree.</summary>
        byte[] MutateBinHeader(byte[] b)
        {
            int word = rng.Next(target == Target.TokenShard ? 3 : 8);
            int old = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4 * word));
            int value = rng.Next(6) switch
            {
                0 => old + 1,
                1 => old - 1,
                2 => old * 2,
                3 => -old,
                4 => old + rng.Next(-300, 300),
                _ => (int)InterestingU64[rng.Next(InterestingU64.Length)],
            };
            var copy = (byte[])b.Clone();
            BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(4 * word), value);
            _steps.Add($"header int {word} = {value} (was {old})");
            if (rng.Next(2) == 0)
            {
                // The length the header now implies, computed independently of the reader.
                BigInteger implied = target == Target.TokenShard ? ShardLength(copy) : LlmcLength(copy);
                if (implied >= 1024 && implied <= 1 << 22)
                {
                    Array.Resize(ref copy, (int)implied);
                    _steps.Add($"resize to the implied {implied} bytes");
                }
            }
            return copy;
        }

        static BigInteger ShardLength(byte[] b) => 1024 + 2 * new BigInteger(BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8)));

        static BigInteger LlmcLength(byte[] b)
        {
            BigInteger H(int i) => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4 * i));
            BigInteger T = H(2), V = H(3), L = H(4), C = H(6), Vp = H(7);
            BigInteger count = Vp * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
            return 1024 + count * (H(1) == 5 ? 2 : 4);
        }

        byte[] MutateSafetensorsHeader(byte[] b)
        {
            long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(b);
            string header = Encoding.UTF8.GetString(b, 8, (int)n);
            byte[] data = b[(8 + (int)n)..];
            byte[] h = Encoding.UTF8.GetBytes(MutateJson(header, safetensors: true));
            int lengthRoll = rng.Next(10);
            ulong length = lengthRoll switch
            {
                < 8 => (ulong)h.Length,
                8 => (ulong)n,
                _ => InterestingU64[rng.Next(InterestingU64.Length)],
            };
            if (lengthRoll >= 8) _steps.Add($"header length field {length} (header is {h.Length} bytes)");
            var result = new byte[8 + h.Length + data.Length];
            BinaryPrimitives.WriteUInt64LittleEndian(result, length);
            h.CopyTo(result, 8);
            data.CopyTo(result, 8 + h.Length);
            return result;
        }

        /// <summary>One to three structural changes to a JSON document, or a textual one.</summary>
        string MutateJson(string text, bool safetensors)
        {
            if (rng.Next(8) == 0)
            {
                // Damage to the text itself: what a truncated or hand-edited file looks like.
                var sb = new StringBuilder(text);
                int p = rng.Next(sb.Length + 1);
                switch (rng.Next(3))
                {
                    case 0: sb.Length = p; _steps.Add($"json truncated to {p} chars"); break;
                    case 1: if (p < sb.Length) sb.Remove(p, 1); _steps.Add($"json char {p} deleted"); break;
                    default: const string Chars = "{}[]\",:0-9e.\\ "; char c = Chars[rng.Next(Chars.Length)]; sb.Insert(p, c); _steps.Add($"json '{c}' inserted at {p}"); break;
                }
                return sb.ToString();
            }
            var root = JsonNode.Parse(text)!;
            var duplicates = new List<(JsonObject Owner, string Key, JsonNode? Value)>();
            int n = 1 + rng.Next(3);
            for (int k = 0; k < n; k++) MutateTree(root, duplicates, safetensors);
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
                Write(w, root, duplicates);
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        void MutateTree(JsonNode root, List<(JsonObject, string, JsonNode?)> duplicates, bool safetensors)
        {
            var nodes = new List<(JsonNode? Node, JsonNode Parent, string? Key, int Index)>();
            Collect(root, nodes);
            var objects = new List<JsonObject> { root as JsonObject ?? new JsonObject() };
            objects.AddRange(nodes.Select(x => x.Node).OfType<JsonObject>());
            var keys = nodes.Where(x => x.Key is not null).Select(x => x.Key!).Distinct().ToList();
            keys.AddRange(["__metadata__", "zz", "", "dtype", "shape", "data_offsets", "step"]);
            JsonNode? Interesting() => JsonNode.Parse(InterestingJson[rng.Next(InterestingJson.Length)]);
            if (nodes.Count == 0) return;
            var (node, parent, key, index) = nodes[rng.Next(nodes.Count)];
            string at = key is not null ? $"'{key}'" : $"[{index}]";
            switch (rng.Next(safetensors ? 8 : 6))
            {
                case 0:
                    {
                        var v = rng.Next(4) == 0 ? nodes[rng.Next(nodes.Count)].Node?.DeepClone() : Interesting();
                        Replace(parent, key, index, v);
                        _steps.Add($"{at} = {v?.ToJsonString() ?? "null"}");
                        break;
                    }
                case 1:
                    if (parent is JsonObject o) o.Remove(key!);
                    else ((JsonArray)parent).RemoveAt(index);
                    _steps.Add($"delete {at}");
                    break;
                case 2:
                    {
                        var owner = objects[rng.Next(objects.Count)];
                        if (owner.Count == 0) break;
                        string k = owner.ElementAt(rng.Next(owner.Count)).Key;
                        var v = rng.Next(2) == 0 ? owner[k]?.DeepClone() : Interesting();
                        duplicates.Add((owner, k, v));
                        _steps.Add($"duplicate key '{k}' = {v?.ToJsonString() ?? "null"}");
                        break;
                    }
                case 3:
                    if (parent is JsonObject po)
                    {
                        string k = keys[rng.Next(keys.Count)];
                        if (po.ContainsKey(k)) break;
                        po.Remove(key!);
                        po[k] = node;
                        _steps.Add($"rename {at} to '{k}'");
                    }
                    break;
                case 4:
                    {
                        var owner = objects[rng.Next(objects.Count)];
                        string k = keys[rng.Next(keys.Count)];
                        var v = Interesting();
                        owner[k] = v;
                        _steps.Add($"set '{k}' = {v?.ToJsonString() ?? "null"} in an object");
                        break;
                    }
                case 5:
                    {
                        var numbers = nodes.Where(x => x.Node is JsonValue v && v.GetValueKind() == JsonValueKind.Number).ToList();
                        if (numbers.Count == 0) break;
                        var (num, p, k, i) = numbers[rng.Next(numbers.Count)];
                        decimal d = decimal.TryParse(num!.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : 0;
                        decimal changed = rng.Next(5) switch { 0 => d + 1, 1 => d - 1, 2 => -d, 3 => d * 1024, _ => d + rng.Next(-64, 64) };
                        Replace(p, k, i, JsonValue.Create(changed));
                        _steps.Add($"{(k is not null ? $"'{k}'" : $"[{i}]")} {d} -> {changed}");
                        break;
                    }
                default:
                    {
                        // Safetensors: offsets and shapes that lie about the data section.
                        var tensors = ((JsonObject)root).Where(kv => kv.Key != "__metadata__" && kv.Value is JsonObject t && t["data_offsets"] is JsonArray).ToList();
                        if (tensors.Count == 0) break;
                        var (name, value) = tensors[rng.Next(tensors.Count)];
                        var t = (JsonObject)value!;
                        var (other, otherValue) = tensors[rng.Next(tensors.Count)];
                        switch (rng.Next(4))
                        {
                            case 0:
                                t["data_offsets"] = otherValue!["data_offsets"]!.DeepClone();
                                _steps.Add($"'{name}' takes the data_offsets of '{other}'");
                                break;
                            case 1:
                                {
                                    long end = Number(t["data_offsets"], 1);
                                    long past = end + 4 * (1 + rng.Next(1 << 20));
                                    t["data_offsets"] = new JsonArray(end, past);
                                    _steps.Add($"'{name}' data_offsets [{end}, {past}]");
                                    break;
                                }
                            case 2:
                                {
                                    // A product that wraps to 0 in 64 bits, over an empty span.
                                    long begin = Number(t["data_offsets"], 0);
                                    ((JsonObject)root)["zz.overflow"] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(65536, 65536, 65536, 65536), ["data_offsets"] = new JsonArray(begin, begin) };
                                    _steps.Add($"add 'zz.overflow' [65536, 65536, 65536, 65536] at [{begin}, {begin}] (where '{name}' begins)");
                                    break;
                                }
                            default:
                                {
                                    var shape = new JsonArray();
                                    int dims = rng.Next(5);
                                    for (int d = 0; d < dims; d++) shape.Add(rng.Next(3) == 0 ? int.MaxValue : rng.Next(0, 70000));
                                    t["shape"] = shape;
                                    _steps.Add($"'{name}' shape {shape.ToJsonString()}");
                                    break;
                                }
                        }
                        break;
                    }
            }
        }

        static long Number(JsonNode? array, int i) =>
            array is JsonArray a && i < a.Count && long.TryParse(a[i]?.ToJsonString(), CultureInfo.InvariantCulture, out long v) ? v : 0;

        static void Collect(JsonNode node, List<(JsonNode?, JsonNode, string?, int)> into)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o)
                {
                    into.Add((v, o, k, -1));
                    if (v is not null) Collect(v, into);
                }
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++)
                {
                    into.Add((a[i], a, null, i));
                    if (a[i] is { } v) Collect(v, into);
                }
        }

        static void Replace(JsonNode parent, string? key, int index, JsonNode? value)
        {
            if (parent is JsonObject o) o[key!] = value;
            else ((JsonArray)parent)[index] = value;
        }

        static void Write(Utf8JsonWriter w, JsonNode? node, List<(JsonObject Owner, string Key, JsonNode? Value)> duplicates)
        {
            switch (node)
            {
                case null:
                    w.WriteNullValue();
                    break;
                case JsonObject o:
                    w.WriteStartObject();
                    foreach (var (k, v) in o)
                    {
                        w.WritePropertyName(k);
                        Write(w, v, duplicates);
                    }
                    foreach (var (owner, k, v) in duplicates)
                    {
                        if (!ReferenceEquals(owner, o)) continue;
                        w.WritePropertyName(k);
                        Write(w, v, duplicates);
                    }
                    w.WriteEndObject();
                    break;
                case JsonArray a:
                    w.WriteStartArray();
                    foreach (var v in a) Write(w, v, duplicates);
                    w.WriteEndArray();
                    break;
                default:
                    node.WriteTo(w);
                    break;
            }
        }
    }
}
