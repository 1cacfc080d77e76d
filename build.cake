// Hyper's build: `dotnet tool restore` once, then `dotnet cake --target=<Target>`.
//   Build  compile the solution (Release, warnings as errors)
//   Test   run the NUnit suite (the same command as the README's)
//   Bench  run `hyper bench train` on the benchmark model and the BenchmarkDotNet kernel benchmarks
//   Native build native/cuda (libhypercuda.so) with CMake where nvcc is on PATH; skipped elsewhere
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var benchFilter = Argument("filter", "*");

Task("Clean")
    .Does(() =>
{
    DotNetClean("Hyper.sln", new DotNetCleanSettings { Configuration = configuration });
});

Task("Native")
    .Does(() =>
{
    // Machines without nvcc (most CI and laptops) build and test everything else; the cuda
    // backend then reports "not available" with the reason.
    var nvcc = (EnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator)
        .Select(dir => System.IO.Path.Combine(dir, "nvcc")).FirstOrDefault(System.IO.File.Exists);
    if (nvcc == null)
    {
        Information("Native: skipping native/cuda, nvcc is not on PATH (install the CUDA toolkit to build libhypercuda.so)");
        return;
    }
    Information($"Native: building native/cuda with {nvcc}");
    foreach (var args in new[] { "-S native/cuda -B native/cuda/build -DCMAKE_BUILD_TYPE=Release", "--build native/cuda/build -j" })
        if (StartProcess("cmake", args) != 0) throw new Exception($"cmake {args} failed");
});

Task("Build")
    .IsDependentOn("Native")
    .Does(() =>
{
    DotNetBuild("Hyper.sln", new DotNetBuildSettings { Configuration = configuration });
});

Task("Test")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetTest("Hyper.sln", new DotNetTestSettings { Configuration = configuration, NoBuild = true });
});

Task("Bench")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetRun("src/Cli/Hyper.Cli.csproj", new ProcessArgumentBuilder()
        .Append("bench").Append("train").Append("--model").Append("small")
        .Append("--batch").Append("8").Append("--seq").Append("256").Append("--steps").Append("10"),
        new DotNetRunSettings { Configuration = configuration, NoBuild = true });
    DotNetRun("bench/Hyper.Bench.csproj", new ProcessArgumentBuilder().Append("--filter").Append(benchFilter),
        new DotNetRunSettings { Configuration = configuration, NoBuild = true });
});

RunTarget(target);
