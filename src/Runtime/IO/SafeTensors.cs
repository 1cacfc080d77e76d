using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Hyper.Runtime.IO;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON
/// header <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}</c>,
/// then the raw little-endian tensor data (offsets are relative to the end of the header).
/// The header is validated when the file is opened, so a bad file fails at
/// <see cref="Open"/> with the file's name and the problem, not later with a wrong tensor.
/// </summary>
public sealed class SafeTensors : IDisposable
{
    /// <summary>One tensor's header entry.</summary>
    /// <param name="Name">The tensor's name.</param>
    /// <param name="DType">The format's dtype name: F32, F16, BF16, I32, I64, ...</param>
    /// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
    /// <param name="Begin">Start of the data, relative to the data section.</param>
    /// <param name="End">End of the data (exclusive), relative to the data section.</param>
    public sealed record TensorInfo(string Name, string DType, int[] Shape, long Begin, long End)
    {
        /// <summary>Number of elements (1 for a scalar).</summary>
        /// <exception cref="OverflowException">The shape holds more than <see cref="long.MaxValue"/> elements
        /// (never for a tensor of an opened file: <see cref="Open"/> refuses such a shape).</exception>
        public long Count => Shape.Aggregate(1L, (a, d) => checked(a * d));
    }

    /// <summary>Name of the header's optional string-to-string metadata entry.</summary>
    public const string MetadataKey = "__metadata__";

    // The reference implementation refuses headers over 100 MB; a larger length is a corrupt
    // or foreign file, and reading it would only waste memory before failing.
    const long MaxHeaderBytes = 100_000_000;

    // Element sizes of the dtypes the format defines. A dtype outside this table cannot be
    // size-checked, so it is refused at open rather than guessed.
    static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["F64"] = 8,
        ["F32"] = 4,
        ["F16"] = 2,
        ["BF16"] = 2,
        ["I64"] = 8,
        ["I32"] = 4,
        ["I16"] = 2,
        ["I8"] = 1,
        ["U64"] = 8,
        ["U32"] = 4,
        ["U16"] = 2,
        ["U8"] = 1,
        ["BOOL"] = 1,
        ["F8_E4M3"] = 1,
        ["F8_E5M2"] = 1,
    };

    readonly SafeFileHandle _handle;
    readonly long _dataStart;
    readonly Dictionary<string, TensorInfo> _byName;

    /// <summary>The file this was opened from.</summary>
    public string Path { get; }

    /// <summary>Every tensor, sorted by name (ordinal).</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Tensor names, sorted (ordinal).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The header's <c>__metadata__</c> (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafeTensors(string path, SafeFileHandle handle, long dataStart, List<TensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        _dataStart = dataStart;
        tensors.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        Tensors = tensors;
        Names = tensors.Select(t => t.Name).ToArray();
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Metadata = metadata;
    }

    /// <summary>Opens a file and validates its header.</summary>
    /// <exception cref="InvalidDataException">The header is malformed: its length, its JSON, a dtype,
    /// a shape, or offsets that fall outside the file or disagree with the shape.</exception>
    public static SafeTensors Open(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8)
                throw Bad(path, $"file is {fileLength} bytes, shorter than the 8-byte header length");
            Span<byte> lengthBytes = stackalloc byte[8];
            ReadExactly(path, handle, lengthBytes, 0);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (headerLength > (ulong)(fileLength - 8))
                throw Bad(path, $"header length {headerLength} exceeds the {fileLength - 8} bytes after the length field");
            if (headerLength > MaxHeaderBytes)
                throw Bad(path, $"header length {headerLength} exceeds the format's limit of {MaxHeaderBytes} bytes");
            var header = new byte[headerLength];
            ReadExactly(path, handle, header, 8);
            long dataStart = 8 + (long)headerLength;
            var (tensors, metadata) = ParseHeader(path, header, fileLength - dataStart);
            CheckContiguous(path, tensors, fileLength - dataStart);
            return new SafeTensors(path, handle, dataStart, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Whether the file holds a tensor of this name.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>A tensor's header entry.</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    public TensorInfo Info(string name)
    {
        if (_byName.TryGetValue(name, out var info)) return info;
        string some = string.Join(", ", Names.Take(8)) + (Names.Count > 8 ? ", ..." : "");
        throw new KeyNotFoundException($"{Path}: no tensor named '{name}' ({Names.Count} tensors: {some})");
    }

    /// <summary>Reads an F32, F16 or BF16 tensor as floats (half types widened exactly).</summary>
    public float[] ReadFloats(string name)
    {
        var info = Info(name);
        var result = new float[CheckedLength(info)];
        ReadFloats(name, result);
        return result;
    }

    /// <summary>Reads an F32, F16 or BF16 tensor into <paramref name="destination"/>, which must
    /// hold exactly its element count (for loading straight into a parameter arena).</summary>
    public void ReadFloats(string name, Span<float> destination)
    {
        var info = Info(name);
        CheckDestination(info, destination.Length);
        switch (info.DType)
        {
            case "F32":
                ReadExactly(Path, _handle, MemoryMarshal.AsBytes(destination), _dataStart + info.Begin);
                if (!BitConverter.IsLittleEndian)
                {
                    var bits = MemoryMarshal.Cast<float, int>(destination);
                    BinaryPrimitives.ReverseEndianness(bits, bits);
                }
                break;
            case "F16":
                ReadConverted(info, destination, static (bits, dst) =>
                {
                    for (int i = 0; i < bits.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf(bits[i]);
                });
                break;
            case "BF16":
                // bfloat16 is the top half of a float32, so widening is a shift, exact for every value.
                ReadConverted(info, destination, static (bits, dst) =>
                {
                    for (int i = 0; i < bits.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
                });
                break;
            default:
                throw new InvalidDataException($"{Path}: tensor '{name}' is {info.DType}; ReadFloats reads F32, F16 and BF16");
        }
    }

    /// <summary>
    /// Reads a BF16 tensor's raw bits into <paramref name="destination"/>, which must hold exactly
    /// its element count: the bf16 values as they are, for a consumer that keeps them in that form.
    /// </summary>
    public void ReadBf16(string name, Span<ushort> destination)
    {
        var info = Info(name);
        if (info.DType != "BF16") throw new InvalidDataException($"{Path}: tensor '{name}' is {info.DType}; ReadBf16 reads BF16");
        CheckDestination(info, destination.Length);
        ReadExactly(Path, _handle, MemoryMarshal.AsBytes(destination), _dataStart + info.Begin);
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(destination, destination);
    }

    /// <summary>Reads an I32 or I64 tensor as ints (I64 values must fit in an int).</summary>
    public int[] ReadInts(string name)
    {
        var info = Info(name);
        var result = new int[CheckedLength(info)];
        switch (info.DType)
        {
            case "I32":
                ReadExactly(Path, _handle, MemoryMarshal.AsBytes(result.AsSpan()), _dataStart + info.Begin);
                if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(result, result);
                break;
            case "I64":
                var wide = new long[result.Length];
                ReadExactly(Path, _handle, MemoryMarshal.AsBytes(wide.AsSpan()), _dataStart + info.Begin);
                if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(wide, wide);
                for (int i = 0; i < wide.Length; i++)
                {
                    if (wide[i] < int.MinValue || wide[i] > int.MaxValue)
                        throw new InvalidDataException($"{Path}: tensor '{name}' element {i} is {wide[i]}, outside the range of int");
                    result[i] = (int)wide[i];
                }
                break;
            default:
                throw new InvalidDataException($"{Path}: tensor '{name}' is {info.DType}; ReadInts reads I32 and I64");
        }
        return result;
    }

    /// <summary>
    /// Writes F32 tensors, sorted by name, with optional string metadata. The file is written
    /// to a temporary name beside <paramref name="path"/> and then moved over it, so a reader
    /// (or a crash) never sees a half-written checkpoint.
    /// </summary>
    /// <exception cref="ArgumentException">A duplicate or reserved name, a negative dimension, or
    /// data whose length is not the shape's element count.</exception>
    public static void Write(string path, IEnumerable<(string name, int[] shape, float[] data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var byName = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var specs = new List<(string, int[])>();
        foreach (var (name, shape, data) in tensors)
        {
            if (!byName.TryAdd(name, data)) throw new ArgumentException($"{path}: tensor '{name}' given twice");
            long count = shape.Any(d => d < 0) ? -1 : shape.Aggregate(1L, (a, d) => a * d);
            if (count >= 0 && count != data.Length)
                throw new ArgumentException($"{path}: tensor '{name}' has shape [{string.Join(", ", shape)}] ({count} elements) but {data.Length} values");
            specs.Add((name, shape));
        }
        Write(path, specs, (name, destination) => byName[name].CopyTo(destination), metadata);
    }

    /// <summary>
    /// Writes F32 tensors, sorted by name, one at a time: the header is built from the shapes, then
    /// <paramref name="fill"/>(name, buffer) writes each tensor's values into a buffer of its element
    /// count, which goes to the file before the next is asked for. So a file of any size is written
    /// holding one tensor in memory. Written aside and moved into place like the other overload.
    /// </summary>
    /// <exception cref="ArgumentException">A duplicate or reserved name, or a negative dimension.</exception>
    public static void Write(string path, IReadOnlyList<(string Name, int[] Shape)> tensors, Action<string, Span<float>> fill,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.Select(t => (name: t.Name, shape: t.Shape, count: 0L)).ToList();
        list.Sort((a, b) => string.CompareOrdinal(a.name, b.name));
        for (int i = 0; i < list.Count; i++)
        {
            var (name, shape, _) = list[i];
            if (name == MetadataKey)
                throw new ArgumentException($"{path}: '{MetadataKey}' is reserved for metadata, not a tensor name");
            if (i > 0 && list[i - 1].name == name)
                throw new ArgumentException($"{path}: tensor '{name}' given twice");
            if (shape.Any(d => d < 0))
                throw new ArgumentException($"{path}: tensor '{name}' has a negative dimension in [{string.Join(", ", shape)}]");
            long count = shape.Aggregate(1L, (a, d) => a * d);
            if (count > Array.MaxLength)
                throw new ArgumentException($"{path}: tensor '{name}' has {count} elements, more than one array holds");
            list[i] = (name, shape, count);
        }

        byte[] header = BuildHeader(list, metadata);
        string full = System.IO.Path.GetFullPath(path);
        string temp = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        float[] buffer = [];
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> lengthBytes = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)header.Length);
                stream.Write(lengthBytes);
                stream.Write(header);
                foreach (var (name, _, count) in list)
                {
                    // One buffer, grown to the largest tensor so far and reused.
                    if (buffer.Length < count) buffer = new float[count];
                    var data = buffer.AsSpan(0, (int)count);
                    data.Clear();
                    fill(name, data);
                    if (!BitConverter.IsLittleEndian)
                    {
                        var bits = MemoryMarshal.Cast<float, int>(data);
                        BinaryPrimitives.ReverseEndianness(bits, bits);
                    }
                    stream.Write(MemoryMarshal.AsBytes(data));
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();

    static byte[] BuildHeader(List<(string name, int[] shape, long count)> list, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WritePropertyName(MetadataKey);
                w.WriteStartObject();
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, shape, count) in list)
            {
                w.WritePropertyName(name);
                w.WriteStartObject();
                w.WriteString("dtype", "F32");
                w.WritePropertyName("shape");
                w.WriteStartArray();
                foreach (int d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WritePropertyName("data_offsets");
                w.WriteStartArray();
                w.WriteNumberValue(offset);
                offset += 4L * count;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned, as the
        // reference writer does; readers can then map the data without copying.
        int pad = (int)(-(buffer.Length + 8) & 7);
        for (int i = 0; i < pad; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    static (List<TensorInfo>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        // JsonDocument checks the UTF-8 of a string only when it is read, and then throws
        // InvalidOperationException; checking the whole header first keeps that out of the parse.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw Bad(path, "header is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Bad(path, $"header is not valid JSON ({e.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Bad(path, $"header is a JSON {doc.RootElement.ValueKind}, not an object");
            var tensors = new List<TensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw Bad(path, $"'{MetadataKey}' is a JSON {property.Value.ValueKind}, not an object of strings");
                    foreach (var m in property.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Bad(path, $"metadata '{m.Name}' is a JSON {m.Value.ValueKind}; the format allows only strings");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                // JSON allows a repeated key; the format does not, and which copy wins would be a guess.
                if (!seen.Add(property.Name))
                    throw Bad(path, $"tensor '{property.Name}' appears twice in the header");
                tensors.Add(ParseTensor(path, property.Name, property.Value, dataLength));
            }
            return (tensors, metadata);
        }
    }

    static TensorInfo ParseTensor(string path, string name, JsonElement e, long dataLength)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Bad(path, $"tensor '{name}': entry is a JSON {e.ValueKind}, not an object");
        if (!e.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad(path, $"tensor '{name}': missing string 'dtype'");
        string dtype = dtypeElement.GetString()!;
        if (!ElementSizes.TryGetValue(dtype, out int elementSize))
            throw Bad(path, $"tensor '{name}': unknown dtype '{dtype}' (known: {string.Join(", ", ElementSizes.Keys)})");

        if (!e.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Bad(path, $"tensor '{name}': missing array 'shape'");
        var shape = new int[shapeElement.GetArrayLength()];
        int k = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw Bad(path, $"tensor '{name}': shape {shapeElement.GetRawText()} must hold non-negative 32-bit integers");
            shape[k++] = dim;
        }

        // TryGetInt64 throws on a non-number, so the kinds are checked first.
        if (!e.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2
            || offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
            throw Bad(path, $"tensor '{name}': 'data_offsets' must be [begin, end] integers");
        if (begin < 0 || end < begin || end > dataLength)
            throw Bad(path, $"tensor '{name}': data_offsets [{begin}, {end}] fall outside the {dataLength}-byte data section");

        var info = new TensorInfo(name, dtype, shape, begin, end);
        // Checked so that a shape with huge dimensions cannot overflow into a plausible size
        // (65536^4 wraps to 0 in 64 bits, which an empty span would otherwise match).
        long expected;
        try
        {
            expected = checked(info.Count * elementSize);
        }
        catch (OverflowException)
        {
            throw Bad(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] is too large");
        }
        if (end - begin != expected)
            throw Bad(path, $"tensor '{name}': {dtype} [{string.Join(", ", shape)}] needs {expected} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        return info;
    }

    /// <summary>
    /// The reference implementation requires the tensors, in offset order, to tile the data
    /// section exactly: each starts where the previous ended, and the last ends at the end of
    /// the file. Overlapping tensors would alias one another's bytes, and a gap or a tail means
    /// the header does not describe the file; either way the file is not what it claims to be.
    /// </summary>
    static void CheckContiguous(string path, List<TensorInfo> tensors, long dataLength)
    {
        var byOffset = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        long expected = 0;
        TensorInfo? previous = null;
        foreach (var t in byOffset)
        {
            if (t.Begin < expected)
                throw Bad(path, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            if (t.Begin > expected)
                throw Bad(path, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] leave a gap of {t.Begin - expected} bytes after byte {expected} of the data section");
            expected = t.End;
            previous = t;
        }
        if (expected != dataLength)
            throw Bad(path, $"the tensors cover {expected} bytes, but the data section holds {dataLength} (a gap or trailing bytes)");
    }

    void ReadConverted(TensorInfo info, Span<float> destination, ConvertChunk convert)
    {
        // Converted in chunks so a large half-precision tensor needs no second full-size buffer.
        const int Chunk = 1 << 16;
        var bits = new ushort[Math.Min(Chunk, destination.Length)];
        long position = _dataStart + info.Begin;
        for (int done = 0; done < destination.Length; done += Chunk)
        {
            int n = Math.Min(Chunk, destination.Length - done);
            var chunk = bits.AsSpan(0, n);
            ReadExactly(Path, _handle, MemoryMarshal.AsBytes(chunk), position);
            if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(chunk, chunk);
            convert(chunk, destination.Slice(done, n));
            position += 2L * n;
        }
    }

    delegate void ConvertChunk(ReadOnlySpan<ushort> bits, Span<float> destination);

    int CheckedLength(TensorInfo info)
    {
        if (info.Count > Array.MaxLength)
            throw new InvalidDataException($"{Path}: tensor '{info.Name}' has {info.Count} elements, more than one array holds");
        return (int)info.Count;
    }

    void CheckDestination(TensorInfo info, int length)
    {
        if (length != info.Count)
            throw new ArgumentException($"{Path}: tensor '{info.Name}' has {info.Count} elements [{string.Join(", ", info.Shape)}], destination holds {length}");
    }

    static void ReadExactly(string path, SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            int n = RandomAccess.Read(handle, buffer, offset);
            if (n == 0) throw Bad(path, $"unexpected end of file at byte {offset}");
            buffer = buffer[n..];
            offset += n;
        }
    }

    static InvalidDataException Bad(string path, string problem) => new($"{path}: not a valid safetensors file: {problem}");
}
