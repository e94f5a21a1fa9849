using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NpcSdk.Gguf;
using NpcSdk.Tensors;

namespace NpcSdk.Quantization
{
    /// <summary>
    /// Converts a GGUF model to another <see cref="QuantizationMix"/>, writing what llama-quantize writes without an
    /// importance matrix: the same tensor order, per-tensor types (<see cref="QuantizationRules"/>), metadata and bytes.
    /// </summary>
    /// <remarks>
    /// Tensors stream from the memory-mapped input to the output one batch of rows at a time: each row is converted
    /// to floats (<see cref="Dequantizer"/>, exact for F16/BF16) and quantized with
    /// <see cref="Quantizer.QuantizeRowReference"/> (ggml's <c>quantize_row_*_ref</c>), so memory stays at a few MB
    /// whatever the model size. A tensor whose type does not change is copied byte for byte.
    /// </remarks>
    public static class ModelQuantizer
    {
        private const int BatchBytes = 4 << 20;

        /// <summary>
        /// llama-quantize's tensor order (llama.cpp's <c>weight_name_comparer</c>): tensors outside blocks first, then
        /// block by block, by name within each.
        /// </summary>
        public static IComparer<string> SortOrder { get; } = Comparer<string>.Create((a, b) =>
        {
            int la = LayerIndex(a), lb = LayerIndex(b);
            return la != lb ? la.CompareTo(lb) : string.CompareOrdinal(a, b);
        });

        /// <summary>What <see cref="Quantize"/> would do with each tensor of <paramref name="source"/>, in output order.</summary>
        /// <exception cref="QuantizationException">A tensor cannot be converted (already quantized, or rows that fit no type).</exception>
        /// <exception cref="GgufFormatException">Required metadata is missing.</exception>
        public static IReadOnlyList<TensorQuantization> Plan(GgufFile source, QuantizationMix mix, bool allowRequantize = false)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            if (mix == null) throw new ArgumentNullException(nameof(mix));
            string arch = source.GetString("general.architecture")
                ?? throw new GgufFormatException($"{source.Source}: required metadata 'general.architecture' is missing");
            var tensors = source.Tensors.OrderBy(t => t.Name, SortOrder).ToList();
            var rules = new QuantizationRules(mix, arch,
                (int)FirstInteger(source, arch + ".block_count"),
                (int)FirstInteger(source, arch + ".attention.head_count"),
                (int)FirstInteger(source, arch + ".attention.head_count_kv"),
                (int)FirstInteger(source, arch + ".expert_count"),
                tensors.Select(t => t.Name));
            var plan = new List<TensorQuantization>(tensors.Count);
            foreach (GgufTensorInfo t in tensors)
            {
                TensorType target = rules.Choose(t.Name, t.Shape, t.Type, out bool fellBack);
                if (target != t.Type && TensorTypeInfo.IsQuantized(t.Type) && !allowRequantize)
                    throw new QuantizationException($"{source.Source}: tensor '{t.Name}' is already {t.Type}; requantizing it to {target} is disabled (allow requantize to do it anyway)");
                long[] shape = t.Shape.Take(QuantizationRules.EffectiveDimensions(t.Shape)).ToArray();
                long targetBytes = target == t.Type ? t.ByteSize : TensorTypeInfo.RowBytes(target, t.RowLength) * t.RowCount;
                plan.Add(new TensorQuantization(t.Name, shape, t.Type, target, t.ByteSize, targetBytes, fellBack));
            }
            return plan;
        }

        /// <summary>Quantizes <paramref name="inputPath"/> to <paramref name="outputPath"/> (written to a temporary file, then moved into place).</summary>
        /// <exception cref="QuantizationException">A tensor cannot be converted; nothing is written.</exception>
        /// <exception cref="GgufFormatException">The input is not a valid GGUF model.</exception>
        /// <exception cref="ArgumentException">The output path is the input path.</exception>
        public static QuantizationResult Quantize(string inputPath, string outputPath, QuantizationMix mix, QuantizationOptions? options = null)
        {
            if (inputPath == null) throw new ArgumentNullException(nameof(inputPath));
            if (outputPath == null) throw new ArgumentNullException(nameof(outputPath));
            options ??= new QuantizationOptions();
            if (options.Threads < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Threads, "Threads must be at least 1");
            if (string.Equals(Path.GetFullPath(inputPath), Path.GetFullPath(outputPath), StringComparison.Ordinal))
                throw new ArgumentException($"the output {outputPath} would overwrite the input", nameof(outputPath));
            var clock = Stopwatch.StartNew();
            using var source = GgufFile.Open(inputPath);
            IReadOnlyList<TensorQuantization> plan = Plan(source, mix, options.AllowRequantize);

            var writer = new GgufWriter();
            CopyMetadata(source, writer, mix);
            long total = plan.Sum(p => p.TargetBytes);
            long written = 0;
            for (int i = 0; i < plan.Count; i++)
            {
                TensorQuantization p = plan[i];
                int index = i;
                GgufTensorInfo info = source.GetTensor(p.Name);
                void Report(long bytes)
                {
                    written += bytes;
                    options.Progress?.Invoke(new QuantizationProgress(index, plan.Count, p, written, total));
                }
                if (p.IsConverted)
                    writer.AddTensor(p.Name, p.TargetType, p.Shape, s => Convert(s, source, info, p.TargetType, options.Threads, Report), p.TargetBytes);
                else
                    writer.AddTensor(p.Name, p.TargetType, p.Shape, s => Copy(s, source, info, Report), p.TargetBytes);
            }

            string temporary = outputPath + ".tmp";
            try
            {
                using (var fs = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    writer.WriteTo(fs);
                    fs.Flush(true);
                }
                if (File.Exists(outputPath)) File.Delete(outputPath);
                File.Move(temporary, outputPath);
            }
            catch
            {
                if (File.Exists(temporary)) File.Delete(temporary);
                throw;
            }
            return new QuantizationResult(mix, plan, source.FileSize, new FileInfo(outputPath).Length, clock.Elapsed);
        }

        /// <summary>The N of a <c>blk.N.</c> name, or -1 (llama.cpp reads it with <c>sscanf("blk.%d.")</c>).</summary>
        internal static int LayerIndex(string name)
        {
            const string prefix = "blk.";
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) return -1;
            int i = prefix.Length, value = 0, digits = 0;
            while (i < name.Length && name[i] >= '0' && name[i] <= '9' && digits < 9)
            {
                value = value * 10 + (name[i] - '0');
                i++;
                digits++;
            }
            return digits == 0 ? -1 : value;
        }

        /// <summary>
        /// Metadata as llama-quantize writes it: the input's entries in order (split keys dropped), then
        /// <c>general.quantization_version</c> and <c>general.file_type</c> moved to the end with their new values.
        /// </summary>
        private static void CopyMetadata(GgufFile source, GgufWriter writer, QuantizationMix mix)
        {
            foreach (var kv in source.MetadataEntries)
            {
                switch (kv.Key)
                {
                    case "general.quantization_version":
                    case "general.file_type":
                    case "split.no":
                    case "split.count":
                    case "split.tensors.count":
                        continue;
                    case "general.alignment":
                        // The output is written with the default alignment: keep the key only when it says so.
                        if (kv.Value.TryGetInt64(out long a) && a == writer.Alignment) writer.Set(kv.Key, kv.Value);
                        continue;
                    default:
                        writer.Set(kv.Key, kv.Value);
                        continue;
                }
            }
            writer.Set("general.quantization_version", GgufValue.Of(2u)); // ggml's GGML_QNT_VERSION
            writer.Set("general.file_type", GgufValue.Of((uint)mix.FileType));
        }

        private static void Copy(Stream s, GgufFile source, GgufTensorInfo t, Action<long> report)
        {
            long start = source.DataOffset + t.Offset;
            for (long done = 0; done < t.ByteSize;)
            {
                int n = (int)Math.Min(BatchBytes, t.ByteSize - done);
                s.Write(source.Bytes(start + done, n));
                done += n;
                report(n);
            }
        }

        private static void Convert(Stream s, GgufFile source, GgufTensorInfo t, TensorType target, int threads, Action<long> report)
        {
            int n = checked((int)t.RowLength);
            long rows = t.RowCount;
            int sourceRowBytes = checked((int)TensorTypeInfo.RowBytes(t.Type, n));
            int targetRowBytes = checked((int)TensorTypeInfo.RowBytes(target, n));
            int batchRows = (int)Math.Max(1, Math.Min(rows, BatchBytes / Math.Max(targetRowBytes, sourceRowBytes)));
            var output = new byte[(long)batchRows * targetRowBytes];
            long start = source.DataOffset + t.Offset;
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
            var gate = new object();
            for (long first = 0; first < rows; first += batchRows)
            {
                int count = (int)Math.Min(batchRows, rows - first);
                long firstRow = first;
                long badRow = long.MaxValue;
                Parallel.For(0, count, parallel, () => new float[n], (i, _, x) =>
                {
                    long row = firstRow + i;
                    Dequantizer.DequantizeRow(t.Type, source.Bytes(start + row * sourceRowBytes, sourceRowBytes), x);
                    if (!AllFinite(x))
                    {
                        lock (gate) badRow = Math.Min(badRow, row);
                        return x;
                    }
                    Quantizer.QuantizeRowReference(target, x, output.AsSpan(i * targetRowBytes, targetRowBytes));
                    return x;
                }, _ => { });
                if (badRow != long.MaxValue)
                    throw new QuantizationException($"{source.Source}: tensor '{t.Name}' row {badRow} holds NaN or infinity");
                s.Write(output, 0, count * targetRowBytes);
                report((long)count * targetRowBytes);
            }
        }

        private static bool AllFinite(float[] x)
        {
            foreach (float v in x)
                if (float.IsNaN(v) || float.IsInfinity(v)) return false;
            return true;
        }

        /// <summary>An integer metadata value, the first element of a per-layer array, or 0 when absent.</summary>
        private static long FirstInteger(GgufFile file, string key)
        {
            if (!file.TryGetValue(key, out GgufValue v)) return 0;
            if (v.TryGetInt64(out long l)) return l;
            if (v.Value is Array a && a.Length > 0)
            {
                object? first = a.GetValue(0);
                if (first is GgufValue g && g.TryGetInt64(out long gl)) return gl;
                if (first != null) return System.Convert.ToInt64(first, System.Globalization.CultureInfo.InvariantCulture);
            }
            throw new GgufFormatException($"{file.Source}: metadata '{key}' is {v.Type}, expected an integer");
        }
    }
}
