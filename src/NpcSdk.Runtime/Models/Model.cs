using System;
using System.Collections.Generic;
using System.Threading;
using NpcSdk.Compute;
using NpcSdk.Generation;
using NpcSdk.Gguf;
using NpcSdk.Tokenization;

namespace NpcSdk.Models
{
    /// <summary>Which kernels run the matrix products.</summary>
    public enum KernelBackend
    {
        /// <summary>The managed kernels: llama.cpp's arithmetic to the bit (the default).</summary>
        Managed,
        /// <summary>The native plugin (runtime-native); fails to load when it is missing.</summary>
        Native,
        /// <summary>The native plugin when it is present and this CPU runs it, else the managed kernels.</summary>
        Auto,
    }

    /// <summary>Options for loading a model.</summary>
    public sealed class ModelOptions
    {
        /// <summary>Kernels for the matrix products (default: managed).</summary>
        public KernelBackend Backend { get; set; } = KernelBackend.Managed;

        /// <summary>Compute threads (the caller's included). Default: cores − 1, at least 1, so the game keeps a core.</summary>
        public int Threads { get; set; } = WorkerPool.DefaultThreadCount;

        /// <summary>
        /// After loading, run a full compacting collection that returns the loader's garbage (the tokenizer's
        /// construction, the vocabulary as parsed) to the operating system: tens of MiB for a 150k-token vocabulary
        /// (and one before the weights are laid out or copied, so the peak stays the weights plus the working set).
        /// It blocks every managed thread for some milliseconds; turn it off when loading during gameplay. Default: on.
        /// </summary>
        public bool TrimAfterLoad { get; set; } = true;

        /// <summary>
        /// Hold the weights the runtime reads in its matrix products on 2 MiB pages where the OS offers them (Linux
        /// transparent huge pages, <c>always</c> or <c>madvise</c>): the file's pages are copied there at load and
        /// released, so memory use stays about the same, and decode of models larger than the caches reads them about
        /// a fifth faster. Default: on. The environment variable <c>NPCSDK_HUGE_PAGES=0</c> turns it off as well.
        /// </summary>
        public bool HugePages { get; set; } = true;
    }

    /// <summary>
    /// A loaded language model: the mapped GGUF file, its configuration, weights and tokenizer. Thread-safe to share;
    /// each NPC gets its own <see cref="InferenceSession"/>.
    /// </summary>
    public sealed class Model : IDisposable
    {
        private readonly WorkerPool _pool;

        private Model(GgufFile file, int threads)
        {
            File = file;
            Transformer = new Transformer(file);
            Tokenizer = GgufTokenizer.FromGguf(file);
            if (Tokenizer.VocabSize != Transformer.Config.VocabSize)
                throw new GgufFormatException($"{file.Source}: tokenizer has {Tokenizer.VocabSize} tokens but token_embd.weight has {Transformer.Config.VocabSize} rows");
            _pool = new WorkerPool(threads);
            Passes = new ForwardPassPool(Transformer, _pool);
            // A first guess from the bytes a decode step reads (4 GB/s), replaced by the first measurement.
            double layerBytes = (double)file.FileSize / (Config.LayerCount + 2);
            _layerBytes = layerBytes;
            SliceCosts = NewCostModel();
        }

        private readonly double _layerBytes;

        private NpcSdk.Scheduling.SliceCostModel NewCostModel() =>
            new NpcSdk.Scheduling.SliceCostModel(_layerBytes / 4e6, 2 * _layerBytes / 4e6 + Config.VocabSize * 2e-5, StageBytes(Transformer.Weights.Layers[0]));

        /// <summary>Bytes each part of a layer reads (ForwardPass.StagesPerLayer; attention counted as much again as Wo): a first guess at their shares of its time.</summary>
        private static double[] StageBytes(LayerWeights l)
        {
            static double B(WeightMatrix w) => (double)w.Rows * w.RowBytes;
            return new[] { B(l.Wq) + B(l.Wk) + B(l.Wv), 2 * B(l.Wo), B(l.Gate), B(l.Up), B(l.Down) };
        }

        /// <summary>How long units of work on this model take, measured as its sessions run (for frame schedulers).</summary>
        internal NpcSdk.Scheduling.SliceCostModel SliceCosts { get; private set; }

        /// <summary>Whether the weights the matrix products stream sit on 2 MiB pages (<see cref="ModelOptions.HugePages"/>).</summary>
        public bool WeightsOnHugePages => Transformer.WeightsOnHugePages;

        /// <summary>The kernels in use, e.g. "managed" or "native avx2" (for a log line).</summary>
        public string BackendDescription => Transformer.UseNativeKernels ? NpcSdk.Native.NativeKernels.Description : "managed";

        /// <summary>Maps a GGUF model and prepares it to run.</summary>
        /// <exception cref="GgufFormatException">The file is malformed.</exception>
        /// <exception cref="ModelNotSupportedException">The architecture or a feature is not supported.</exception>
        public static Model Load(string path, ModelOptions? options = null)
        {
            options ??= new ModelOptions();
            if (options.Threads < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Threads, "Threads must be at least 1");
            bool native = options.Backend == KernelBackend.Native || (options.Backend == KernelBackend.Auto && NpcSdk.Native.NativeKernels.IsAvailable);
            if (native && !NpcSdk.Native.NativeKernels.IsAvailable)
                throw new ModelNotSupportedException($"the native backend was requested but is not available: {NpcSdk.Native.NativeKernels.Description}");
            var file = GgufFile.Open(path);
            Model? model = null;
            try
            {
                model = new Model(file, options.Threads);
                model.Transformer.UseNativeKernels = native;
                // Laying weights out again (or copying them) makes them resident now rather than during the first
                // replies: first give back what parsing and the tokenizer left behind, so the peak stays the weights plus
                // the working set. Not when the caller loads during play and asked for no blocking collections.
                if (options.TrimAfterLoad && model.Transformer.PreparesWeights(options.HugePages)) Trim();
                model.Transformer.PrepareWeights(model._pool, options.HugePages);
                if (options.TrimAfterLoad) Trim();
                return model;
            }
            catch
            {
                if (model != null) model.Dispose();
                else file.Dispose();
                throw;
            }
        }

        private static void Trim()
        {
#if NET
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
#else
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
#endif
        }

        /// <summary>The mapped file.</summary>
        public GgufFile File { get; }

        /// <summary>Hyper-parameters.</summary>
        public ModelConfig Config => Transformer.Config;

        /// <summary>The tokenizer built from the file's metadata.</summary>
        public GgufTokenizer Tokenizer { get; }

        /// <summary>A hash of the file's header and tensor table: what saves record to refuse another model.</summary>
        public string Identity => _identity ??= File.ComputeIdentity();

        private string? _identity;

        /// <summary>Compute threads in use.</summary>
        public int Threads => _pool.ThreadCount;

        internal Transformer Transformer { get; }

        internal WorkerPool Pool => _pool;

        /// <summary>Step scratch lent to this model's sessions while they run a step.</summary>
        internal ForwardPassPool Passes { get; }

        /// <summary>KV blocks freed by this model's sessions, for its next ones (at most 32 MiB held, or what was reserved).</summary>
        internal KvBlockPool KvBlocks { get; } = new KvBlockPool(32L << 20);

        /// <summary>
        /// Allocates KV cache memory for <paramref name="positions"/> cached positions (summed over all sessions) now,
        /// for sessions to take as they grow instead of allocating it during play: a game calls this at load with its NPC
        /// count times their context length, so that no garbage collection of new cache memory lands in a frame.
        /// </summary>
        /// <returns>The bytes reserved.</returns>
        public long ReserveKvCache(int positions, KvCacheType kvCacheType = KvCacheType.F16)
        {
            if (positions < 0) throw new ArgumentOutOfRangeException(nameof(positions), positions, "must not be negative");
            long blocks = 2L * Config.LayerCount * ((positions + KvCache.BlockSize - 1) / KvCache.BlockSize);
            return KvBlocks.Reserve(KvCache.BlockBytes(kvCacheType, Config.KvDim), blocks);
        }

        /// <summary>Starts a new session (its own KV cache and token history) on this model.</summary>
        public InferenceSession CreateSession(SessionOptions? options = null) => new InferenceSession(this, options ?? new SessionOptions());

        /// <summary>Shared prefixes that new sessions reuse automatically.</summary>
        public SharedPrefixRegistry Prefixes { get; } = new SharedPrefixRegistry();

        /// <summary>Tokens this model has run through the transformer (prompt and generated), over all sessions.</summary>
        public long EvaluatedTokenCount => Interlocked.Read(ref _evaluated);

        private long _evaluated;

        internal void CountPrefilled(int n) => Interlocked.Add(ref _evaluated, n);

        /// <summary>
        /// Prefills <paramref name="tokens"/> once and registers them as a shared prefix: later sessions with the same
        /// KV cache type whose first tokens match read its keys and values instead of recomputing them.
        /// </summary>
        public SharedPrefix CreatePrefix(IReadOnlyList<int> tokens, KvCacheType kvCacheType = KvCacheType.F16)
        {
            if (tokens.Count == 0) throw new ArgumentException("a prefix needs at least one token", nameof(tokens));
            var session = new InferenceSession(this, new SessionOptions { ContextLength = Math.Min(Config.ContextLength, Math.Max(tokens.Count, 1)), KvCacheType = kvCacheType, DropOldTurnsOnOverflow = false });
            session.Evaluate(tokens);
            var prefix = session.DetachAsPrefix();
            Prefixes.Add(prefix);
            return prefix;
        }

        /// <summary>
        /// Prepares frame schedulers for this model before the first frame: runs two short requests through a scratch
        /// scheduler (prompt chunks, parts of layers, slices of the output projection, a decode batch, sampling), so that
        /// the JIT compiles that code here rather than in a frame (no effect under AOT or IL2CPP); then measures this
        /// machine's speed with a few one-token steps, one step each of 2, 4, 8, 16 and 32 tokens and two 16-token steps
        /// part by part on a scratch session, so that the cost model predicts every kind of unit. Call it at level load;
        /// it takes about as long as evaluating 120 tokens. Without it a scheduler learns as it goes, keeps prompt
        /// chunks small on a large model until it has seen a larger one run, and its first frames pay for compiling its
        /// code.
        /// </summary>
        public void Calibrate()
        {
            int vocab = Config.VocabSize;
            // Arbitrary token ids (their values do not change the time).
            int next = 1;
            int[] Tokens(int n)
            {
                var t = new int[n];
                for (int i = 0; i < n; i++) t[i] = next++ % vocab;
                return t;
            }
            WarmUpScheduler(Tokens);
            // The warm-up's units ran code compiled as they went: their times would mislead the cost model.
            SliceCosts = NewCostModel();
            // The default batch size, so the step scratch this makes (Passes) is the one default sessions borrow during play.
            using var session = new InferenceSession(this, new SessionOptions { ContextLength = Math.Min(Config.ContextLength, 128), DropOldTurnsOnOverflow = false });
            // One-token steps first, the reference the batch sizes are measured against.
            for (int i = 0; i < 4; i++) session.Evaluate(Tokens(1));
            foreach (int n in new[] { 2, 4, 8, 16, 32 })
            {
                if (session.Position + n > session.ContextLength) break;
                session.Evaluate(Tokens(n));
            }
            // Prompt chunks part by part: the parts' shares of a layer, for a scheduler that fills a tick's end with the
            // first parts of a layer that no longer fits whole.
            for (int i = 0; i < 2 && session.Position + 16 <= session.ContextLength; i++)
            {
                session.Append(Tokens(16), newTurn: false);
                session.BeginStep(16);
                while (!session.StepLayersDone) session.RunStage();
                session.RunLayers(0);
            }
        }

        /// <summary>
        /// Two requests on scratch sessions through a scratch scheduler: first with a tiny budget (every unit runs alone:
        /// a prompt chunk's layers part by part, the output projection in slices), then with room for a decode batch of
        /// both. The model's prefixes and other sessions are untouched.
        /// </summary>
        private void WarmUpScheduler(Func<int, int[]> tokens)
        {
            // 4 + 3 tokens, then 1 + 3 more, in each session.
            if (Config.ContextLength < 16) return;
            var options = new SessionOptions { ContextLength = Math.Min(Config.ContextLength, 64), BatchSize = 8, DropOldTurnsOnOverflow = false };
            using var a = new InferenceSession(this, options);
            using var b = new InferenceSession(this, options);
            using var scheduler = new NpcSdk.Scheduling.FrameScheduler();
            // Prompts of four tokens, then of one: two lone tokens at once are what a decode batch takes.
            foreach ((int promptTokens, double budgetMs) in new[] { (4, 0.01), (1, 1e6) })
            {
                var sampling = new NpcSdk.Sampling.SamplingOptions { Temperature = 0.7f, Seed = 1 };
                var first = scheduler.Submit(a, new GenerationRequest { Tokens = tokens(promptTokens), MaxTokens = 3, Sampling = sampling, StopAtEndOfGeneration = false });
                var second = scheduler.Submit(b, new GenerationRequest { Tokens = tokens(promptTokens), MaxTokens = 3, Sampling = sampling, StopAtEndOfGeneration = false });
                for (int tick = 0; tick < 10000 && !(first.IsFinished && second.IsFinished); tick++) scheduler.Tick(budgetMs);
            }
        }

        /// <summary>Stops the worker threads and unmaps the file.</summary>
        public void Dispose()
        {
            _pool.Dispose();
            Transformer.FreeWeights();
            File.Dispose();
        }
    }
}
