using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.IO;
using Hyper.Runtime.Merging;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;
using Hyper.Runtime.Training;

namespace Hyper.Cli.Commands;

/// <summary>`hyper merge`: model soups, greedy soups, task arithmetic and Model Breadcrumbs over checkpoint folders.</summary>
public static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var models = new Option<string[]>("--models")
        {
            Description = "Checkpoint folders to merge (two or more for a soup, one or more with --base): same architecture, shapes and tokenizer.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--out") { Description = "Folder for the merged checkpoint (must not hold one already).", Required = true };
        var weights = new Option<string?>("--weights")
        {
            Description = "Comma-separated weight per model, e.g. 0.25,0.75. Soup: default uniform (1/K each); each in [0, 1] and summing to 1 " +
                          "unless --allow-extrapolation. With --base: the task vectors' weights, default 1 each.",
        };
        var extrapolate = new Option<bool>("--allow-extrapolation") { Description = "Let soup weights leave [0, 1] and not sum to 1." };
        var greedy = new Option<bool>("--greedy") { Description = "Greedy soup: models sorted by held-out loss on --val, each kept only if the uniform soup's loss does not get worse; prints every try." };
        var val = new Option<string?>("--val") { Description = "Held-out text (or token shard). Needed by --greedy; otherwise the merge's loss on it is reported." };
        var seq = new Option<int>("--seq") { Description = "Window length of the held-out loss (default: the models' n_positions)." };
        var maxWindows = new Option<int>("--max-windows") { Description = "Held-out loss over only the first N windows (0 = all)." };
        var batch = new Option<int>("--batch") { Description = "Windows per forward pass of the held-out loss.", DefaultValueFactory = _ => 8 };
        var baseModel = new Option<string?>("--base") { Description = "Base checkpoint for task vectors (model - base); picks --method task-arithmetic unless told otherwise." };
        var method = new Option<string?>("--method") { Description = "With --base: task-arithmetic (base + lambda * sum w_k (model_k - base)) or breadcrumbs (the same with each task vector tensor masked)." };
        var lambda = new Option<float>("--lambda") { Description = "Scale of the summed task vectors.", DefaultValueFactory = _ => 1f };
        var topBeta = new Option<double>("--top-beta")
        {
            Description = "Breadcrumbs: fraction of each task vector tensor's largest magnitudes dropped (the paper's beta).",
            DefaultValueFactory = _ => MergeRecipe.DefaultTopBeta,
        };
        var bottomGamma = new Option<double>("--bottom-gamma")
        {
            Description = "Breadcrumbs: fraction of each task vector tensor's smallest magnitudes dropped (the paper's gamma). The defaults keep 90% of each tensor: " +
                          "the 90%-density setting mergekit documents for the method; the paper tunes beta, gamma and lambda on validation data.",
            DefaultValueFactory = _ => MergeRecipe.DefaultBottomGamma,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON summary instead of text." };
        var cmd = new Command("merge",
            "Merge checkpoints of one architecture into a new checkpoint folder, tensor by tensor (memory stays near one model's size). " +
            "Soup: sum_k w_k theta_k. Greedy soup (--greedy --val FILE). Task arithmetic: theta_base + lambda * sum_k w_k (theta_k - theta_base). " +
            "Breadcrumbs: the same with each task vector tensor keeping only the magnitudes between its bottom-gamma and top-beta fractions. See docs/merging.md.")
        {
            models, output, weights, extrapolate, greedy, val, seq, maxWindows, batch, baseModel, method, lambda, topBeta, bottomGamma, json,
        };
        cmd.SetAction(r =>
        {
            var clock = Stopwatch.StartNew();
            string[] dirs = r.GetValue(models)!;
            string outDir = r.GetValue(output)!;
            string? baseDir = r.GetValue(baseModel), valPath = r.GetValue(val);
            bool isGreedy = r.GetValue(greedy), asJson = r.GetValue(json);
            foreach (string d in dirs.Append(baseDir).OfType<string>())
                if (!Checkpoint.IsCheckpoint(d)) throw new CliException($"{d}: not a checkpoint folder (no config.json)");
            if (Checkpoint.IsCheckpoint(outDir)) throw new CliException($"{outDir} already holds a checkpoint; choose another --out");

            var m = ParseMethod(r.GetValue(method), baseDir);
            bool Given(Option o) => r.GetResult(o) is { Implicit: false };
            if (m != MergeMethod.Breadcrumbs && (Given(topBeta) || Given(bottomGamma)))
                throw new CliException("--top-beta and --bottom-gamma belong to --method breadcrumbs");
            if (m == MergeMethod.Soup && Given(lambda)) throw new CliException("--lambda scales task vectors; it needs --base");
            if (isGreedy)
            {
                if (valPath is null) throw new CliException("--greedy needs --val FILE (the held-out text that picks the ingredients)");
                if (baseDir is not null || r.GetValue(weights) is not null) throw new CliException("--greedy picks its own uniform weights; it takes neither --weights nor --base");
            }
            if (m == MergeMethod.Soup && dirs.Length < 2) throw new CliException($"a soup needs at least two --models (got {dirs.Length})");
            if (r.GetValue(batch) < 1) throw new CliException("--batch must be at least 1");

            float[] w = ParseWeights(r.GetValue(weights), dirs.Length, m, r.GetValue(extrapolate));
            var recipe = new MergeRecipe
            {
                Models = dirs,
                Weights = w,
                Method = m,
                Base = baseDir,
                Lambda = r.GetValue(lambda),
                TopBeta = r.GetValue(topBeta),
                BottomGamma = r.GetValue(bottomGamma),
            };

            // Opening the merger checks every input against the first before anything is evaluated or written.
            GreedySoup.Result? soup = null;
            double? valLoss = null;
            HeldOut? heldOut = null;
            using (var check = new ModelMerger(isGreedy ? GreedySoup.Uniform(dirs) : recipe))
            {
                if (valPath is not null) heldOut = HeldOut.Open(valPath, check.Config, check.Tokenizer, r.GetValue(seq), r.GetValue(maxWindows), r.GetValue(batch));
            }
            using (heldOut)
            {
                if (isGreedy)
                {
                    if (!asJson) Console.WriteLine($"greedy soup of {dirs.Length} models on {valPath} ({heldOut!.Describe()}):");
                    soup = GreedySoup.Run(dirs, heldOut!.Loss);
                    recipe = soup.Recipe;
                    valLoss = soup.Loss;
                }
                using var merger = new ModelMerger(recipe);
                if (valLoss is null && heldOut is not null) valLoss = heldOut.Loss(merger.ToArena());
                var summary = merger.Save(outDir);
                long peak = Hyper.Runtime.ProcessMemory.PeakResidentBytes() ?? 0;
                long modelBytes = 4L * summary.Parameters;
                if (asJson)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        method = isGreedy ? "greedy-soup" : ModelMerger.Name(m),
                        models = recipe.Models,
                        weights = recipe.Weights,
                        @base = recipe.Base,
                        lambda = m == MergeMethod.Soup ? (float?)null : recipe.Lambda,
                        top_beta = m == MergeMethod.Breadcrumbs ? (double?)recipe.TopBeta : null,
                        bottom_gamma = m == MergeMethod.Breadcrumbs ? (double?)recipe.BottomGamma : null,
                        kept_fraction = summary.Masked > 0 ? (double?)summary.Kept / summary.Masked : null,
                        @out = outDir,
                        tensors = summary.Tensors,
                        parameters = summary.Parameters,
                        val_loss = valLoss,
                        greedy = soup?.Tries.Select(t => new { model = t.Model, loss = t.Loss, soup_size = t.SoupSize, soup_loss = t.SoupLoss, kept = t.Kept }),
                        peak_rss_bytes = peak,
                        model_bytes = modelBytes,
                        seconds = clock.Elapsed.TotalSeconds,
                    }));
                }
                else
                {
                    if (isGreedy) PrintGreedyTable(soup!);
                    Console.WriteLine($"{Describe(recipe, isGreedy)} -> {outDir}");
                    if (summary.Masked > 0 && m == MergeMethod.Breadcrumbs)
                        Console.WriteLine($"breadcrumbs masks kept {summary.Kept:N0} of {summary.Masked:N0} task vector values ({100.0 * summary.Kept / summary.Masked:F2}%)");
                    if (valLoss is double l) Console.WriteLine($"held-out loss {l:F5} nats/token, perplexity {Math.Exp(l):F3} ({heldOut!.Describe()})");
                    Console.WriteLine($"wrote {summary.Parameters:N0} parameters in {summary.Tensors} tensors in {clock.Elapsed.TotalSeconds:F1} s; " +
                                      $"peak RSS {peak / 1048576.0:F1} MiB (one model's weights: {modelBytes / 1048576.0:F1} MiB)");
                }
            }
            return 0;
        });
        return cmd;
    }

    private static MergeMethod ParseMethod(string? name, string? baseDir)
    {
        if (name is null) return baseDir is null ? MergeMethod.Soup : MergeMethod.TaskArithmetic;
        var m = name switch
        {
            "task-arithmetic" => MergeMethod.TaskArithmetic,
            "breadcrumbs" => MergeMethod.Breadcrumbs,
            _ => throw new CliException($"--method '{name}' is not task-arithmetic or breadcrumbs"),
        };
        if (baseDir is null) throw new CliException($"--method {name} needs --base BASE (task vectors are model - base)");
        return m;
    }

    private static float[] ParseWeights(string? text, int count, MergeMethod m, bool extrapolate)
    {
        if (text is null) return Enumerable.Repeat(m == MergeMethod.Soup ? 1f / count : 1f, count).ToArray();
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var w = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out w[i]) || !float.IsFinite(w[i]))
                throw new CliException($"--weights '{text}': '{parts[i]}' is not a number");
        if (w.Length != count) throw new CliException($"--weights gives {w.Length} weights for {count} models; give one per model");
        if (m == MergeMethod.Soup && !extrapolate)
        {
            double sum = w.Sum(x => (double)x);
            if (w.Any(x => x < 0 || x > 1) || Math.Abs(sum - 1) > 1e-6)
                throw new CliException($"--weights {text} sum to {sum.ToString("G6", CultureInfo.InvariantCulture)}; soup weights must lie in [0, 1] and sum to 1 (or pass --allow-extrapolation)");
        }
        return w;
    }

    private static string Describe(MergeRecipe r, bool greedy)
    {
        string ws = string.Join(", ", r.Weights.Select(x => x.ToString("G6", CultureInfo.InvariantCulture)));
        string what = greedy ? $"greedy soup of {r.Models.Count} model(s), weights {ws}" : r.Method switch
        {
            MergeMethod.Soup => $"soup of {r.Models.Count} models, weights {ws}",
            MergeMethod.TaskArithmetic => $"task arithmetic on {r.Base}: {r.Models.Count} task vector(s), weights {ws}, lambda {r.Lambda.ToString("G6", CultureInfo.InvariantCulture)}",
            _ => $"breadcrumbs on {r.Base}: {r.Models.Count} task vector(s), weights {ws}, lambda {r.Lambda.ToString("G6", CultureInfo.InvariantCulture)}, " +
                 $"top-beta {r.TopBeta.ToString(CultureInfo.InvariantCulture)}, bottom-gamma {r.BottomGamma.ToString(CultureInfo.InvariantCulture)}",
        };
        return what + (greedy ? "" : $" ({string.Join(", ", r.Models)})");
    }

    private static void PrintGreedyTable(GreedySoup.Result soup)
    {
        Console.WriteLine();
        Console.WriteLine("| try | ingredient | its loss | soup size | soup loss | kept |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        int i = 1;
        foreach (var t in soup.Tries)
            Console.WriteLine($"| {i++} | {t.Model} | {t.Loss:F5} | {t.SoupSize} | {t.SoupLoss:F5} | {(t.Kept ? "yes" : "no")} |");
        Console.WriteLine();
    }

    /// <summary>The held-out data of --val and one model on the CPU to evaluate arenas with.</summary>
    private sealed class HeldOut : IDisposable
    {
        private readonly CpuBackend _backend;
        private readonly Gpt2 _model;
        private readonly int[] _tokens;
        private readonly int _seq, _maxWindows, _batch;

        private HeldOut(CpuBackend backend, Gpt2 model, int[] tokens, int seq, int maxWindows, int batch)
        {
            (_backend, _model, _tokens, _seq, _maxWindows, _batch) = (backend, model, tokens, seq, maxWindows, batch);
        }

        public static HeldOut Open(string path, Gpt2Config config, string tokenizer, int seq, int maxWindows, int batch)
        {
            var tokens = TokenCorpus.Load(path, Tokenizers.Create(tokenizer));
            int T = seq == 0 ? config.NPositions : seq;
            if (T < 1 || T > config.NPositions) throw new CliException($"--seq {T} is outside 1..{config.NPositions} (the models' n_positions)");
            if (tokens.Length < T + 1) throw new CliException($"{path}: {tokens.Length} tokens are fewer than one window of {T + 1} (--seq {T})");
            var backend = new CpuBackend();
            return new HeldOut(backend, new Gpt2(config, backend), tokens, T, maxWindows <= 0 ? int.MaxValue : maxWindows, batch);
        }

        public double Loss(float[] arena)
        {
            _model.LoadParameters(arena);
            return Evaluator.Evaluate(_model, _tokens, _seq, _maxWindows, _batch).Loss;
        }

        public string Describe()
        {
            int windows = Math.Min((_tokens.Length - 1) / _seq, _maxWindows);
            return $"{windows} windows of {_seq} tokens";
        }

        public void Dispose()
        {
            _model.Dispose();
            _backend.Dispose();
        }
    }
}
