using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hyper.Runtime.IO;

/// <summary>
/// Refuses weights that hold NaN or ±Inf at load time. One such value poisons every logit it
/// reaches, and the failure then surfaces far away (a NaN loss, a sampler refusing a NaN logit,
/// a JSON writer refusing NaN); naming the file, tensor and index at load says what is wrong.
/// </summary>
public static class FiniteValues
{
    /// <summary>Throws <see cref="InvalidDataException"/> naming the first non-finite value of a tensor.</summary>
    public static void Check(ReadOnlySpan<float> values, string file, string tensor)
    {
        int i = IndexOfNonFinite(values);
        if (i >= 0)
            throw new InvalidDataException($"{file}: tensor {tensor} holds {Describe(values[i])} at index {i}");
    }

    /// <summary>The index of the first NaN or ±Inf, or -1 when every value is finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        // x - x is 0 for every finite x and NaN for NaN and ±Inf, so one subtraction and one
        // compare test a whole vector; the scalar loop then finds the index in the failing one.
        if (Vector512.IsHardwareAccelerated)
        {
            var v = MemoryMarshal.Cast<float, Vector512<float>>(values);
            for (int k = 0; k < v.Length; k++, i += Vector512<float>.Count)
                if (!Vector512.EqualsAll(v[k] - v[k], Vector512<float>.Zero)) break;
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var v = MemoryMarshal.Cast<float, Vector256<float>>(values);
            for (int k = 0; k < v.Length; k++, i += Vector256<float>.Count)
                if (!Vector256.EqualsAll(v[k] - v[k], Vector256<float>.Zero)) break;
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    /// <summary>Throws <see cref="InvalidDataException"/> naming the first non-finite value of a tensor of bf16 bits.</summary>
    public static void Check(ReadOnlySpan<ushort> bf16, string file, string tensor)
    {
        int i = IndexOfNonFinite(bf16);
        if (i >= 0)
            throw new InvalidDataException($"{file}: tensor {tensor} holds {Describe(BFloat16.ToSingle(bf16[i]))} at index {i}");
    }

    /// <summary>The index of the first NaN or ±Inf among bf16 bits (exponent all ones), or -1 when every value is finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<ushort> bf16)
    {
        const ushort Exponent = 0x7F80;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var v = MemoryMarshal.Cast<ushort, Vector<ushort>>(bf16);
            var e = new Vector<ushort>(Exponent);
            for (int k = 0; k < v.Length; k++, i += Vector<ushort>.Count)
                if (Vector.EqualsAny(v[k] & e, e)) break;
        }
        for (; i < bf16.Length; i++)
            if ((bf16[i] & Exponent) == Exponent) return i;
        return -1;
    }

    static string Describe(float x) => float.IsNaN(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf";
}
