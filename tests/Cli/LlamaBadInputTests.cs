using System.Text.Json.Nodes;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// Bad Llama-family folders through the command line: each is one line naming the file and the
/// problem, exit code 2 (see <see cref="CliRunner.RunExpectingUserError"/>).
/// </summary>
[NonParallelizable]
public class LlamaBadInputTests : TempDirTest
{
    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", name);
    private static string EvalText => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "hf_eval.txt");

    private string CopyOf(string name)
    {
        string dir = Path.Combine(Dir, name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture(name))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    private static string[] Eval(string dir) => ["eval", "--model", dir, "--data", EvalText, "--seq", "32", "--max-windows", "2"];

    private static void EditConfig(string dir, Action<JsonObject> edit)
    {
        string path = Path.Combine(dir, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Test]
    public void UnknownModelType()
    {
        string dir = CopyOf("llama");
        EditConfig(dir, j => j["model_type"] = "falcon");
        CliRunner.RunExpectingUserError(Eval(dir), Path.Combine(dir, "config.json"), "model_type 'falcon' is not supported");
    }

    [Test]
    public void ConfigThatDisagreesWithTensorShapes()
    {
        string dir = CopyOf("qwen3");
        EditConfig(dir, j => j["intermediate_size"] = 100);
        CliRunner.RunExpectingUserError(Eval(dir), Path.Combine(dir, "model.safetensors"), "has shape [64, 128], config.json implies [64, 100]");
    }

    [Test]
    public void KeyValueHeadsThatDoNotDivideTheHeads()
    {
        string dir = CopyOf("llama");
        EditConfig(dir, j => j["num_key_value_heads"] = 3);
        CliRunner.RunExpectingUserError(Eval(dir), Path.Combine(dir, "config.json"), "num_key_value_heads (3) must divide num_attention_heads (4)");
    }

    [Test]
    public void ShardMissingFromTheIndex()
    {
        string dir = CopyOf("llama_sharded");
        File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        CliRunner.RunExpectingUserError(Eval(dir), Path.Combine(dir, "model.safetensors.index.json"), "shard 'model-00002-of-00002.safetensors' is listed in weight_map but");
    }

    [Test]
    public void TensorTheIndexPutsInTheWrongShard()
    {
        string dir = CopyOf("llama_sharded");
        string index = Path.Combine(dir, "model.safetensors.index.json");
        var json = JsonNode.Parse(File.ReadAllText(index))!.AsObject();
        json["weight_map"]!["lm_head.weight"] = "model-00001-of-00002.safetensors";
        File.WriteAllText(index, json.ToJsonString());
        CliRunner.RunExpectingUserError(Eval(dir), index, "weight_map puts 'lm_head.weight' in model-00001-of-00002.safetensors, which has no such tensor");
    }

    [Test]
    public void UnsupportedRopeScaling()
    {
        string dir = CopyOf("llama");
        EditConfig(dir, j => j["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 });
        CliRunner.RunExpectingUserError(Eval(dir), Path.Combine(dir, "config.json"), "rope_scaling type 'yarn' is not supported");
    }
}
