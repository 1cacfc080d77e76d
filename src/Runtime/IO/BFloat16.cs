namespace Hyper.Runtime.IO;

/// <summary>bfloat16 ⇄ float: the top 16 bits of an IEEE float.</summary>
public static class BFloat16
{
    /// <summary>Widens exactly.</summary>
    public static float ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Rounds to nearest, ties to even (NaN stays NaN).</summary>
    public static ushort FromSingle(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((u >> 16) | 0x40);
        uint rounding = 0x7FFF + ((u >> 16) & 1);
        return (ushort)((u + rounding) >> 16);
    }
}
