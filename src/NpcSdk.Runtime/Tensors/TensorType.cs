namespace NpcSdk.Tensors;

/// <summary>
/// Element formats of tensors in GGUF files. The numeric values are ggml's <c>ggml_type</c> ids, exactly as stored
/// in a GGUF tensor info, so a value read from a file can be cast directly.
/// </summary>
public enum TensorType : uint
{
    /// <summary>IEEE 754 single precision, 4 bytes per element.</summary>
    F32 = 0,

    /// <summary>IEEE 754 half precision, 2 bytes per element.</summary>
    F16 = 1,

    /// <summary>32-element blocks: fp16 scale and 4-bit quants with an implicit offset of 8 (18 bytes).</summary>
    Q4_0 = 2,

    /// <summary>32-element blocks: fp16 scale and minimum, 4-bit unsigned quants (20 bytes).</summary>
    Q4_1 = 3,

    /// <summary>32-element blocks: fp16 scale, 5-bit quants with an implicit offset of 16 (22 bytes).</summary>
    Q5_0 = 6,

    /// <summary>32-element blocks: fp16 scale and minimum, 5-bit unsigned quants (24 bytes).</summary>
    Q5_1 = 7,

    /// <summary>32-element blocks: fp16 scale and 8-bit signed quants (34 bytes).</summary>
    Q8_0 = 8,

    /// <summary>32-element blocks: fp16 scale, fp16 scale times the sum of the quants, 8-bit quants (36 bytes); activations only.</summary>
    Q8_1 = 9,

    /// <summary>256-element super-blocks of 2-bit quants with 4-bit sub-block scales and mins (84 bytes).</summary>
    Q2_K = 10,

    /// <summary>256-element super-blocks of 3-bit quants with 6-bit sub-block scales (110 bytes).</summary>
    Q3_K = 11,

    /// <summary>256-element super-blocks of 4-bit quants with 6-bit sub-block scales and mins (144 bytes).</summary>
    Q4_K = 12,

    /// <summary>256-element super-blocks of 5-bit quants with 6-bit sub-block scales and mins (176 bytes).</summary>
    Q5_K = 13,

    /// <summary>256-element super-blocks of 6-bit quants with 8-bit sub-block scales (210 bytes).</summary>
    Q6_K = 14,

    /// <summary>256-element super-blocks: float scale, 8-bit quants and 16 partial sums (292 bytes); activations only.</summary>
    Q8_K = 15,

    /// <summary>bfloat16 (the upper half of an IEEE single), 2 bytes per element.</summary>
    BF16 = 30,
}
