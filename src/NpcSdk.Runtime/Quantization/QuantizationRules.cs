using System;
using System.Collections.Generic;
using System.Globalization;
using NpcSdk.Tensors;

namespace NpcSdk.Quantization
{
    /// <summary>
    /// llama-quantize's choice of each tensor's type (llama.cpp <c>src/llama-quant.cpp</c>,
    /// <c>tensor_allows_quantization</c>, <c>llama_tensor_get_type</c> and <c>tensor_type_fallback</c>), without an
    /// importance matrix or overrides. Stateful like the original: it counts attn_v / ffn_* tensors as they go by, so
    /// <see cref="Choose"/> must be called in the order llama-quantize visits tensors (<see cref="ModelQuantizer.SortOrder"/>).
    /// </summary>
    internal sealed class QuantizationRules
    {
        private enum Category
        {
            TokenEmbedding,
            AttentionQ,
            AttentionK,
            AttentionV,
            AttentionQkv,
            AttentionKvB,
            AttentionOutput,
            FfnUp,
            FfnGate,
            FfnDown,
            Output,
            Other,
        }

        // Substrings of 2-D ".weight" tensors that llama-quantize never quantizes (small or index tables).
        private static readonly string[] NeverQuantized =
        {
            "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
            "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
            "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
            "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
            "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
            "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
            ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger",
            "a.rvq.codebook", "mm.a.code_embd",
        };

        private readonly QuantizationMix _mix;
        private readonly string _mixName;
        private readonly bool _falcon;
        private readonly bool _is70B;
        private readonly int _layers;
        private readonly int _gqa;
        private readonly int _experts;
        private readonly bool _tiedEmbeddings;
        private readonly int _attentionVCount;
        private int _attentionV;
        private int _ffnDown;

        /// <param name="mix">The target.</param>
        /// <param name="architecture"><c>general.architecture</c>.</param>
        /// <param name="layers">Block count.</param>
        /// <param name="heads">Attention heads (of the first layer).</param>
        /// <param name="kvHeads">Key/value heads (of the first layer).</param>
        /// <param name="experts">Experts per MoE layer (0 or 1 for dense models).</param>
        /// <param name="tensorNames">Every tensor of the model.</param>
        public QuantizationRules(QuantizationMix mix, string architecture, int layers, int heads, int kvHeads, int experts, IEnumerable<string> tensorNames)
        {
            _mix = mix;
            _mixName = mix.Name;
            _falcon = architecture == "falcon";
            // llama.cpp's LLM_TYPE_70B: 80 llama layers with grouped-query attention.
            _is70B = architecture == "llama" && layers == 80 && heads != kvHeads;
            _layers = layers;
            _gqa = kvHeads > 0 ? heads / kvHeads : 0;
            _experts = Math.Max(1, experts);
            _tiedEmbeddings = true;
            foreach (string name in tensorNames)
            {
                Category c = Categorize(name);
                if (IsAttentionVLike(c)) _attentionVCount++;
                if (c == Category.Output) _tiedEmbeddings = false;
            }
        }

        /// <summary>Tensors whose type fell back because their rows are not whole blocks of the chosen type.</summary>
        public int Fallbacks { get; private set; }

        /// <summary>Whether llama-quantize converts this tensor at all (2-D and up, a ".weight", not a norm, ...).</summary>
        public static bool AllowsQuantization(string name, long[] shape)
        {
            if (EffectiveDimensions(shape) < 2) return false;
            if (!name.EndsWith("weight", StringComparison.Ordinal)) return false;
            // BERT's absolute positions and token types (LLM_TENSOR_POS_EMBD / TOKEN_TYPES).
            if (name == "position_embd.weight" || name == "token_types.weight") return false;
            foreach (string s in NeverQuantized)
                if (name.IndexOf(s, StringComparison.Ordinal) >= 0) return false;
            return true;
        }

        /// <summary>Dimensions without trailing 1s, at least 1 (ggml's <c>ggml_n_dims</c>).</summary>
        public static int EffectiveDimensions(long[] shape)
        {
            for (int i = shape.Length - 1; i >= 1; i--)
                if (shape[i] != 1) return i + 1;
            return 1;
        }

        /// <summary>The type llama-quantize writes for this tensor; call once per tensor, in llama-quantize's order.</summary>
        /// <param name="name">Tensor name.</param>
        /// <param name="shape">Shape, row length first.</param>
        /// <param name="current">The tensor's type in the source file.</param>
        /// <param name="fellBack">True when the chosen type was replaced because rows are not whole blocks of it.</param>
        /// <exception cref="QuantizationException">No type fits the tensor's rows.</exception>
        public TensorType Choose(string name, long[] shape, TensorType current, out bool fellBack)
        {
            fellBack = false;
            if (!AllowsQuantization(name, shape)) return current;
            TensorType type = _mix.DefaultType;
            if (!_mix.IsQuantized) return type;
            type = ChooseForMix(name, shape, Categorize(name), type);
            return Fallback(name, shape[0], type, out fellBack);
        }

        private TensorType ChooseForMix(string name, long[] shape, Category category, TensorType type)
        {
            // Tied models share token_embd with the output projection, so it gets the output's precision.
            if (category == Category.Output || (_tiedEmbeddings && category == Category.TokenEmbedding))
            {
                if (_falcon || shape[0] % TensorTypeInfo.BlockSize(type) != 0) return TensorType.Q8_0;
                return type == TensorType.Q8_0 ? type : TensorType.Q6_K;
            }

            switch (category)
            {
                case Category.AttentionV:
                case Category.AttentionQkv:
                case Category.AttentionKvB:
                    type = AttentionV(type);
                    _attentionV++;
                    return type;
                case Category.AttentionK:
                    return _experts == 8 ? TensorType.Q8_0 : type;
                case Category.FfnDown:
                    {
                        int layer = LayerOf(name, _ffnDown);
                        _ffnDown++;
                        return FfnDown(type, layer, _layers);
                    }
                case Category.AttentionOutput:
                    return AttentionOutput(type);
                default:
                    return type;
            }
        }

        private TensorType AttentionV(TensorType type)
        {
            switch (_mixName)
            {
                case "Q2_K": type = _gqa >= 4 ? TensorType.Q4_K : TensorType.Q3_K; break;
                case "Q3_K_M": type = _attentionV < 2 ? TensorType.Q5_K : TensorType.Q4_K; break;
                case "Q3_K_L": type = TensorType.Q5_K; break;
                case "Q4_K_M":
                case "Q5_K_M":
                    if (UseMoreBits(_attentionV, _attentionVCount)) type = TensorType.Q6_K;
                    break;
                case "Q4_K_S":
                    if (_attentionV < 4) type = TensorType.Q5_K;
                    break;
            }
            // 70B shares attn_v between 8 query heads: it is 8x smaller than attn_q, so more bits cost little.
            if (_is70B && (type == TensorType.Q3_K || type == TensorType.Q4_K)) type = TensorType.Q5_K;
            if (_experts == 8) type = TensorType.Q8_0;
            return type;
        }

        private TensorType FfnDown(TensorType type, int layer, int layers)
        {
            switch (_mixName)
            {
                case "Q2_K":
                    return TensorType.Q3_K;
                case "Q3_K_M":
                    return layer < layers / 16 ? TensorType.Q5_K
                        : !_falcon || UseMoreBits(layer, layers) ? TensorType.Q4_K
                        : TensorType.Q3_K;
                case "Q3_K_L":
                    return _falcon ? TensorType.Q4_K : TensorType.Q5_K;
                case "Q4_K_M":
                    if (_falcon)
                        return layer < layers / 16 ? TensorType.Q6_K : UseMoreBits(layer, layers) ? TensorType.Q5_K : TensorType.Q4_K;
                    return UseMoreBits(layer, layers) ? TensorType.Q6_K : type;
                case "Q5_K_M":
                    return UseMoreBits(layer, layers) ? TensorType.Q6_K : type;
                case "Q4_K_S":
                    return !_falcon && layer < layers / 8 ? TensorType.Q5_K : type;
                default:
                    return type;
            }
        }

        private TensorType AttentionOutput(TensorType type)
        {
            if (_falcon) return _mixName == "Q3_K_L" ? TensorType.Q4_K : type;
            if (_experts == 8)
            {
                switch (_mixName)
                {
                    case "Q2_K":
                    case "Q3_K_S":
                    case "Q3_K_M":
                    case "Q4_K_S":
                    case "Q4_K_M":
                        return TensorType.Q5_K;
                    default:
                        return type;
                }
            }
            switch (_mixName)
            {
                case "Q2_K": return TensorType.Q3_K;
                case "Q3_K_M": return TensorType.Q4_K;
                case "Q3_K_L": return TensorType.Q5_K;
                default: return type;
            }
        }

        /// <summary>K-quants need rows of whole 256-element super-blocks; otherwise the nearest legacy type, else F16.</summary>
        private TensorType Fallback(string name, long rowLength, TensorType type, out bool fellBack)
        {
            fellBack = false;
            if (rowLength % TensorTypeInfo.BlockSize(type) == 0) return type;
            TensorType replacement;
            switch (type)
            {
                case TensorType.Q2_K:
                case TensorType.Q3_K: replacement = TensorType.Q4_0; break;
                case TensorType.Q4_K: replacement = TensorType.Q5_0; break;
                case TensorType.Q5_K: replacement = TensorType.Q5_1; break;
                case TensorType.Q6_K: replacement = TensorType.Q8_0; break;
                default:
                    throw new QuantizationException($"tensor '{name}': rows of {rowLength} elements are not whole {type} blocks of {TensorTypeInfo.BlockSize(type)}, and {type} has no fallback type");
            }
            if (rowLength % TensorTypeInfo.BlockSize(replacement) != 0) replacement = TensorType.F16;
            fellBack = true;
            Fallbacks++;
            return replacement;
        }

        /// <summary>llama.cpp's <c>use_more_bits</c>: the first and last eighth of the layers and every third in between.</summary>
        private static bool UseMoreBits(int layer, int layers) =>
            layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

        /// <summary>
        /// The layer a tensor belongs to: its position among tensors of its kind for dense models (as llama-quantize
        /// counts), the number in its <c>blk.N.</c> name for MoE models, whose expert tensors are not consecutive.
        /// </summary>
        private int LayerOf(string name, int counter)
        {
            if (_experts <= 1) return counter;
            int layer = ModelQuantizer.LayerIndex(name);
            if (layer < 0) throw new QuantizationException($"tensor '{name}': cannot determine its layer (no 'blk.N.' prefix)");
            if (layer >= _layers) throw new QuantizationException($"tensor '{name}': layer {layer.ToString(CultureInfo.InvariantCulture)} is not below the block count {_layers.ToString(CultureInfo.InvariantCulture)}");
            return layer;
        }

        private static bool IsAttentionVLike(Category c) =>
            c == Category.AttentionV || c == Category.AttentionQkv || c == Category.AttentionKvB;

        private static Category Categorize(string name)
        {
            if (name == "output.weight") return Category.Output;
            if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return Category.TokenEmbedding;
            if (Has(name, "attn_qkv.weight")) return Category.AttentionQkv;
            if (Has(name, "attn_kv_b.weight")) return Category.AttentionKvB;
            if (Has(name, "attn_v.weight")) return Category.AttentionV;
            if (Has(name, "attn_k.weight")) return Category.AttentionK;
            if (Has(name, "attn_q.weight")) return Category.AttentionQ;
            if (Has(name, "attn_output.weight")) return Category.AttentionOutput;
            if (Has(name, "ffn_up")) return Category.FfnUp;
            if (Has(name, "ffn_gate")) return Category.FfnGate;
            if (Has(name, "ffn_down")) return Category.FfnDown;
            return Category.Other;
        }

        private static bool Has(string name, string part) => name.IndexOf(part, StringComparison.Ordinal) >= 0;
    }
}
