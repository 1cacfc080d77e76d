using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Hyper.Runtime.Backends.Cuda;

/// <summary>
/// The entry points of libhypercuda (native/cuda/hyper_cuda.h), one function pointer per
/// <c>hyper_cuda_*</c> function. A field named <c>MatmulForward</c> binds
/// <c>hyper_cuda_matmul_forward</c>; device pointers are <see cref="nint"/>, host arrays typed
/// pointers. Every function but <see cref="LastError"/> returns 0 or an error code.
/// A test parses the header and checks it against these fields, name by name and argument by argument.
/// </summary>
internal sealed unsafe class CudaNative
{
    /// <summary>The library's file name.</summary>
    public const string LibraryFile = "libhypercuda.so";

    /// <summary>HYPER_CUDA_BAD_ARGUMENT: arguments the library rejected before launching anything.</summary>
    public const int BadArgument = -1;

    /// <summary>HYPER_CUDA_NOT_BUILT: a variant left out of this build of the library.</summary>
    public const int NotBuilt = -2;

    /// <summary>The environment variable that names the library's full path.</summary>
    public const string PathVariable = "HYPER_CUDA_LIB";

    /// <summary>
    /// The environment variable that, set to 1, waits for the device after every call: kernels are
    /// asynchronous, so a faulting one is otherwise reported by a later call (the next copy), blamed
    /// on the wrong op, and every call after it fails on the poisoned context. Slow; for finding faults.
    /// </summary>
    public const string SyncVariable = "HYPER_CUDA_SYNC";

    /// <summary>Whether <see cref="SyncVariable"/> asks to synchronise after every call; read when the library loads.</summary>
    public bool SyncAfterEachCall { get; }

    public readonly delegate* unmanaged<int, int> Init;
    public readonly delegate* unmanaged<int*, int> DeviceCount;
    public readonly delegate* unmanaged<byte*, int, int*, int*, long*, int*, int> DeviceInfo;
    public readonly delegate* unmanaged<byte*> LastError;
    public readonly delegate* unmanaged<nint*, long, int> Malloc;
    public readonly delegate* unmanaged<nint, int> Free;
    public readonly delegate* unmanaged<nint, void*, long, int> Upload;
    public readonly delegate* unmanaged<void*, nint, long, int> Download;
    public readonly delegate* unmanaged<nint, long, int> Zero;
    public readonly delegate* unmanaged<nint, nint, long, int> Copy;
    public readonly delegate* unmanaged<int> Synchronize;
    public readonly delegate* unmanaged<double*, nint, long, int> SumOfSquares;
    public readonly delegate* unmanaged<nint, int*, nint, nint, int, int, int, int, int> EncoderForward;
    public readonly delegate* unmanaged<nint, nint, nint, int*, int, int, int, int, int> EncoderBackward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, nint, int, int, float, int> LayernormForward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, nint, int, int, int> LayernormBackward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, int, int, int, int, int> MatmulForward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, nint, int, int, int, int, int> MatmulBackward;
    public readonly delegate* unmanaged<nint, nint, nint, int, int, int, int, int, int, int> AttentionForward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, int, int, int, int, int, int> AttentionBackward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, int, int, int, int, int, int, int> AttentionKvForward;
    public readonly delegate* unmanaged<nint, nint, long, int> GeluForward;
    public readonly delegate* unmanaged<nint, nint, nint, long, int> GeluBackward;
    public readonly delegate* unmanaged<nint, nint, nint, long, int> ResidualForward;
    public readonly delegate* unmanaged<nint, nint, nint, long, int> ResidualBackward;
    public readonly delegate* unmanaged<nint, nint, nint, int*, int, int, int, int> SoftmaxCrossEntropyForward;
    public readonly delegate* unmanaged<nint, nint, int*, float, int, int, int, int> SoftmaxCrossEntropyBackward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, long, float, float, float, float, float, int, float, int> AdamwUpdate;
    public readonly delegate* unmanaged<nint, nint, nint, nint, int, int, float, int> RmsnormForward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, nint, int, int, int> RmsnormBackward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, int, int, int, int, int, int> RopeForward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, int, int, int, int, int, int> RopeBackward;
    public readonly delegate* unmanaged<nint, nint, nint, long, int> SwigluForward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, long, int> SwigluBackward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, int, int, int, int, int, int> GroupedQueryAttentionForward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, nint, nint, int, int, int, int, int, int> GroupedQueryAttentionBackward;
    public readonly delegate* unmanaged<nint, nint, nint, nint, nint, nint, int, int, int, int, int, int, int, int> GroupedQueryAttentionKvForward;
    public readonly delegate* unmanaged<byte*, int> CommUniqueId;
    public readonly delegate* unmanaged<byte*, int, int, int> CommInit;
    public readonly delegate* unmanaged<nint, long, float, int> CommAllReduceSum;
    public readonly delegate* unmanaged<int> CommDestroy;

    private static readonly Lock Gate = new();
    private static CudaNative? _loaded;

    private CudaNative(nint handle, string path)
    {
        Path = path;
        SyncAfterEachCall = ParseSync(Environment.GetEnvironmentVariable(SyncVariable));
        nint Bind(string field)
        {
            string export = ExportName(field);
            return NativeLibrary.TryGetExport(handle, export, out nint address)
                ? address
                : throw new BackendUnavailableException($"{path} has no {export} (an older build? rebuild native/cuda: dotnet cake --target=Native)");
        }
        Init = (delegate* unmanaged<int, int>)Bind(nameof(Init));
        DeviceCount = (delegate* unmanaged<int*, int>)Bind(nameof(DeviceCount));
        DeviceInfo = (delegate* unmanaged<byte*, int, int*, int*, long*, int*, int>)Bind(nameof(DeviceInfo));
        LastError = (delegate* unmanaged<byte*>)Bind(nameof(LastError));
        Malloc = (delegate* unmanaged<nint*, long, int>)Bind(nameof(Malloc));
        Free = (delegate* unmanaged<nint, int>)Bind(nameof(Free));
        Upload = (delegate* unmanaged<nint, void*, long, int>)Bind(nameof(Upload));
        Download = (delegate* unmanaged<void*, nint, long, int>)Bind(nameof(Download));
        Zero = (delegate* unmanaged<nint, long, int>)Bind(nameof(Zero));
        Copy = (delegate* unmanaged<nint, nint, long, int>)Bind(nameof(Copy));
        Synchronize = (delegate* unmanaged<int>)Bind(nameof(Synchronize));
        SumOfSquares = (delegate* unmanaged<double*, nint, long, int>)Bind(nameof(SumOfSquares));
        EncoderForward = (delegate* unmanaged<nint, int*, nint, nint, int, int, int, int, int>)Bind(nameof(EncoderForward));
        EncoderBackward = (delegate* unmanaged<nint, nint, nint, int*, int, int, int, int, int>)Bind(nameof(EncoderBackward));
        LayernormForward = (delegate* unmanaged<nint, nint, nint, nint, nint, nint, int, int, float, int>)Bind(nameof(LayernormForward));
        LayernormBackward = (delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, nint, int, int, int>)Bind(nameof(LayernormBackward));
        MatmulForward = (delegate* unmanaged<nint, nint, nint, nint, int, int, int, int, int>)Bind(nameof(MatmulForward));
        MatmulBackward = (delegate* unmanaged<nint, nint, nint, nint, nint, nint, int, int, int, int, int>)Bind(nameof(MatmulBackward));
        AttentionForward = (delegate* unmanaged<nint, nint, nint, int, int, int, int, int, int, int>)Bind(nameof(AttentionForward));
        AttentionBackward = (delegate* unmanaged<nint, nint, nint, nint, nint, int, int, int, int, int, int>)Bind(nameof(AttentionBackward));
        AttentionKvForward = (delegate* unmanaged<nint, nint, nint, nint, int, int, int, int, int, int, int>)Bind(nameof(AttentionKvForward));
        GeluForward = (delegate* unmanaged<nint, nint, long, int>)Bind(nameof(GeluForward));
        GeluBackward = (delegate* unmanaged<nint, nint, nint, long, int>)Bind(nameof(GeluBackward));
        ResidualForward = (delegate* unmanaged<nint, nint, nint, long, int>)Bind(nameof(ResidualForward));
        ResidualBackward = (delegate* unmanaged<nint, nint, nint, long, int>)Bind(nameof(ResidualBackward));
        SoftmaxCrossEntropyForward = (delegate* unmanaged<nint, nint, nint, int*, int, int, int, int>)Bind(nameof(SoftmaxCrossEntropyForward));
        SoftmaxCrossEntropyBackward = (delegate* unmanaged<nint, nint, int*, float, int, int, int, int>)Bind(nameof(SoftmaxCrossEntropyBackward));
        AdamwUpdate = (delegate* unmanaged<nint, nint, nint, nint, long, float, float, float, float, float, int, float, int>)Bind(nameof(AdamwUpdate));
        RmsnormForward = (delegate* unmanaged<nint, nint, nint, nint, int, int, float, int>)Bind(nameof(RmsnormForward));
        RmsnormBackward = (delegate* unmanaged<nint, nint, nint, nint, nint, nint, int, int, int>)Bind(nameof(RmsnormBackward));
        RopeForward = (delegate* unmanaged<nint, nint, nint, nint, int, int, int, int, int, int>)Bind(nameof(RopeForward));
        RopeBackward = (delegate* unmanaged<nint, nint, nint, nint, int, int, int, int, int, int>)Bind(nameof(RopeBackward));
        SwigluForward = (delegate* unmanaged<nint, nint, nint, long, int>)Bind(nameof(SwigluForward));
        SwigluBackward = (delegate* unmanaged<nint, nint, nint, nint, nint, long, int>)Bind(nameof(SwigluBackward));
        GroupedQueryAttentionForward = (delegate* unmanaged<nint, nint, nint, nint, nint, int, int, int, int, int, int>)Bind(nameof(GroupedQueryAttentionForward));
        GroupedQueryAttentionBackward = (delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, nint, nint, int, int, int, int, int, int>)Bind(nameof(GroupedQueryAttentionBackward));
        GroupedQueryAttentionKvForward = (delegate* unmanaged<nint, nint, nint, nint, nint, nint, int, int, int, int, int, int, int, int>)Bind(nameof(GroupedQueryAttentionKvForward));
        CommUniqueId = (delegate* unmanaged<byte*, int>)Bind(nameof(CommUniqueId));
        CommInit = (delegate* unmanaged<byte*, int, int, int>)Bind(nameof(CommInit));
        CommAllReduceSum = (delegate* unmanaged<nint, long, float, int>)Bind(nameof(CommAllReduceSum));
        CommDestroy = (delegate* unmanaged<int>)Bind(nameof(CommDestroy));
    }

    /// <summary>Whether this process has loaded the library already (it stays loaded).</summary>
    public static bool IsLoaded
    {
        get { lock (Gate) return _loaded is not null; }
    }

    /// <summary>Where the library was loaded from.</summary>
    public string Path { get; }

    /// <summary>The C name of the binding field <paramref name="field"/>: MatmulForward → hyper_cuda_matmul_forward.</summary>
    public static string ExportName(string field)
    {
        var s = new StringBuilder("hyper_cuda");
        foreach (char c in field)
        {
            if (char.IsUpper(c)) s.Append('_').Append(char.ToLowerInvariant(c));
            else s.Append(c);
        }
        return s.ToString();
    }

    /// <summary>The binding fields (for the header check).</summary>
    public static IEnumerable<FieldInfo> BindingFields =>
        typeof(CudaNative).GetFields(BindingFlags.Public | BindingFlags.Instance).Where(f => f.FieldType.IsFunctionPointer);

    /// <summary>
    /// The library, loaded once per process from the first of: $HYPER_CUDA_LIB, the application's
    /// folder, native/cuda/build under the current folder or any folder above it (or above the
    /// application's folder). Throws <see cref="BackendUnavailableException"/> with what was tried.
    /// </summary>
    public static CudaNative Load()
    {
        lock (Gate)
        {
            if (_loaded is not null) return _loaded;
            var tried = new List<string>();
            foreach (string path in Candidates())
            {
                if (!File.Exists(path)) { tried.Add(path); continue; }
                if (!NativeLibrary.TryLoad(path, out nint handle))
                    throw new BackendUnavailableException($"{path} exists but does not load (missing CUDA runtime or driver libraries? try: ldd {path})");
                return _loaded = new CudaNative(handle, path);
            }
            throw new BackendUnavailableException(
                $"{LibraryFile} not found (build native/cuda with nvcc: dotnet cake --target=Native, or set {PathVariable}); looked in {string.Join(", ", tried.Distinct())}");
        }
    }

    private static IEnumerable<string> Candidates()
    {
        string? fromEnv = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(fromEnv))
        {
            // An explicit path is the only one tried: a silent fallback would hide a typo.
            yield return System.IO.Path.GetFullPath(fromEnv);
            yield break;
        }
        yield return System.IO.Path.Combine(AppContext.BaseDirectory, LibraryFile);
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (Directory.Exists(System.IO.Path.Combine(dir.FullName, "native", "cuda")))
                {
                    yield return System.IO.Path.Combine(dir.FullName, "native", "cuda", "build", LibraryFile);
                    break;
                }
    }

    /// <summary>The message of the library's last failure.</summary>
    public string LastErrorMessage() => Marshal.PtrToStringUTF8((nint)LastError()) ?? "";

    /// <summary>Throws unless <paramref name="code"/> is 0, with the library's message.</summary>
    public void Check(int code, string op)
    {
        if (code == 0 && !SyncAfterEachCall) return; // the common case, without a closure per launch
        var native = this;
        Check(code, op, SyncAfterEachCall, () => native.Synchronize(), LastErrorMessage);
    }

    /// <summary>
    /// <see cref="Check(int, string)"/> with the library's calls passed in (a test passes fakes): when
    /// <paramref name="syncAfter"/> holds, a call that launched cleanly is also waited for, so a fault
    /// while it ran is reported as this op's.
    /// </summary>
    internal static void Check(int code, string op, bool syncAfter, Func<int> synchronize, Func<string> lastError)
    {
        if (code == 0 && syncAfter)
        {
            code = synchronize();
            if (code != 0) op += $" (found by the synchronise after it, {SyncVariable}=1)";
        }
        if (code == 0) return;
        string message = $"cuda {op}: {lastError()} (code {code})";
        // The library rejects bad arguments, and variants it was built without, before launching
        // anything; the rest are device errors, which leave the context unusable.
        if (code == BadArgument) throw new ArgumentException(message);
        if (code == NotBuilt) throw new VariantNotBuiltException(message);
        throw new DeviceFaultException(message);
    }

    /// <summary>The value of <see cref="SyncVariable"/>: unset, empty or 0 is off, 1 is on.</summary>
    internal static bool ParseSync(string? value) => value?.Trim() switch
    {
        null or "" or "0" => false,
        "1" => true,
        _ => throw new SettingException(SyncVariable, $"'{value}' is neither 0 nor 1"),
    };
}
