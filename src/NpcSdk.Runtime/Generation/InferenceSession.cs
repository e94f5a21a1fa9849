using System;
using System.Collections.Generic;
using System.Threading;
using NpcSdk.Models;
using NpcSdk.Sampling;

namespace NpcSdk.Generation
{
    /// <summary>
    /// One conversation's state on a shared <see cref="Model"/>: its KV cache, token history and last logits.
    /// Work on it advances in steps (a batch of tokens through the layers) that can pause between any two layers,
    /// which is what lets <see cref="Scheduling.FrameScheduler"/> spread it across frames. Not thread-safe; one per NPC.
    /// </summary>
    public sealed partial class InferenceSession : IDisposable
    {
        private readonly Model _model;
        private readonly SessionOptions _options;
        private readonly KvCache _cache;
        private ForwardPass? _pass; // lent by the model's pool while a step runs alone (see Pass)
        private ForwardPass? _ownPass; // a batch larger than the model lends: kept between steps, freed with the session
        private readonly int _maxBatch;
        private readonly List<int> _tokens = new List<int>();
        private readonly List<int> _pending = new List<int>();
        private readonly List<int> _turnStarts = new List<int>();
        private readonly int[] _step;
        private readonly float[] _logits;
        private int _stepCount;
        private int _logitsDone = -1; // vocabulary rows of the step's output projection computed ahead of finishing it (-1: not begun)
        private readonly LayerStageClock _stages = new LayerStageClock(); // the current layer's parts run so far (RunStage)
        private bool _hasLogits;
        private Action<int, float[]>? _onLogits;
        private RopeShift? _ropeShift;

        // The evaluation in progress: every token queued since the queue was last empty. llama.cpp's arithmetic depends
        // on it (a lone token decodes differently from a batch), so steps say where they lie in it, whatever the slicing.
        private int _evalDone, _evalLength;

        internal InferenceSession(Model model, SessionOptions options)
        {
            _model = model;
            _options = options;
            var c = model.Config;
            int ctx = options.ContextLength > 0 ? options.ContextLength : Math.Min(c.ContextLength, 4096);
            if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1");
            ContextLength = ctx;
            _cache = new KvCache(c.LayerCount, ctx, c.KvDim, c.HeadDim, options.KvCacheType, model.KvBlocks);
            _maxBatch = Math.Min(options.BatchSize, ctx);
            _step = new int[_maxBatch];
            _logits = new float[c.VocabSize];
        }

        /// <summary>The model this session runs on.</summary>
        public Model Model => _model;

        /// <summary>Capacity in tokens.</summary>
        public int ContextLength { get; }

        /// <summary>Tokens evaluated so far (the next position).</summary>
        public int Position => _tokens.Count;

        /// <summary>Every token evaluated so far.</summary>
        public IReadOnlyList<int> Tokens => _tokens;

        /// <summary>Tokens at the start that context trimming never drops (a persona's system prompt). A shared prefix is always pinned.</summary>
        public int PinnedLength { get; set; }

        /// <summary>Bytes held by this session's own KV cache (a shared prefix not counted).</summary>
        public long KvCacheBytes => _cache.ByteSize;

        /// <summary>Tokens served from a shared prefix (prefilled once for every session that starts with it).</summary>
        public int SharedPrefixLength => _cache.SharedLength;

        /// <summary>The KV cache storage type.</summary>
        public KvCacheType KvCacheType => _cache.Type;

        /// <summary>Raised (on the thread running the session) after old turns were dropped to make room.</summary>
        public event Action<ContextTrim>? ContextTrimmed;

        /// <summary>Logits after the last evaluated token.</summary>
        /// <exception cref="InvalidOperationException">Nothing was evaluated since the last change.</exception>
        public ReadOnlySpan<float> Logits
        {
            get
            {
                if (!_hasLogits) throw new InvalidOperationException("no logits: evaluate tokens first");
                return _logits;
            }
        }

        internal float[] LogitsArray => _logits;

        internal bool HasLogits => _hasLogits;

        /// <summary>The generation currently running on this session, if any.</summary>
        internal GenerationHandle? ActiveJob { get; set; }

        /// <summary>Evaluates tokens after those already in the session; afterwards <see cref="Logits"/> holds the last one's logits.</summary>
        /// <param name="tokens">The tokens to append (one turn).</param>
        /// <param name="onLogits">When given, called with (position, logits) for every evaluated token (slower: projects every row).</param>
        /// <exception cref="ContextFullException">The tokens cannot fit even after dropping old turns.</exception>
        public void Evaluate(IReadOnlyList<int> tokens, Action<int, float[]>? onLogits = null)
        {
            ThrowIfBusy();
            if ((onLogits != null || !_options.DropOldTurnsOnOverflow) && Position + _pending.Count + tokens.Count > ContextLength)
                throw new ContextFullException($"{tokens.Count} tokens do not fit: {Position} of {ContextLength} positions are used");
            _onLogits = onLogits;
            try
            {
                Append(tokens, newTurn: true);
                RunPending();
            }
            finally
            {
                _onLogits = null;
            }
        }

        /// <summary>Samples the next token from the current logits (does not evaluate it).</summary>
        public int Sample(SamplerChain sampler) => sampler.Sample(Logits, _tokens);

        /// <summary>
        /// Evaluates <paramref name="prompt"/>, then samples and evaluates up to <paramref name="maxTokens"/> tokens,
        /// yielding each; stops after an end-of-generation token (which is yielded).
        /// </summary>
        public IEnumerable<int> Generate(IReadOnlyList<int> prompt, int maxTokens, SamplerChain sampler)
        {
            ThrowIfBusy();
            Append(prompt, newTurn: true);
            RunPending();
            for (int i = 0; i < maxTokens; i++)
            {
                int token = Sample(sampler);
                yield return token;
                if (_model.Tokenizer.IsEndOfGeneration(token) || i + 1 == maxTokens) yield break;
                Append(new[] { token }, newTurn: false);
                RunPending();
            }
        }

        /// <summary>Runs a whole request on the calling thread (no frame budget) and returns its result.</summary>
        public GenerationResult Run(GenerationRequest request) => Begin(request).RunToEnd();

        /// <summary>
        /// Starts a request without running it: advance it with <see cref="GenerationHandle.RunToEnd"/> (events are raised
        /// on the calling thread), or hand the session to a <see cref="Scheduling.FrameScheduler"/> instead.
        /// </summary>
        public GenerationHandle Begin(GenerationRequest request) => new GenerationHandle(this, request, null);

        /// <summary>Forgets every token from <paramref name="position"/> on.</summary>
        public void Rewind(int position)
        {
            ThrowIfBusy();
            if (position < _cache.SharedLength || position > Position)
                throw new ArgumentOutOfRangeException(nameof(position), position, $"must be within [{_cache.SharedLength}, {Position}]");
            _tokens.RemoveRange(position, _tokens.Count - position);
            _turnStarts.RemoveAll(t => t >= position);
            _cache.Truncate(position);
            if (PinnedLength > position) PinnedLength = position;
            _hasLogits = false;
        }

        /// <summary>Empties the session (shared prefix included).</summary>
        public void Reset()
        {
            ThrowIfBusy();
            _tokens.Clear();
            _pending.Clear();
            _turnStarts.Clear();
            _cache.Clear();
            PinnedLength = 0;
            _hasLogits = false;
        }

        private void ThrowIfBusy()
        {
            if (ActiveJob != null && !ActiveJob.IsFinished)
                throw new InvalidOperationException("a scheduled generation is running on this session");
        }

        private void RunPending()
        {
            try
            {
                while (HasWork)
                {
                    if (!StepInProgress) BeginStep(int.MaxValue);
                    RunLayers(int.MaxValue);
                }
            }
            catch
            {
                // Leave the session as it was before the failed call's remaining tokens.
                DiscardPending();
                throw;
            }
        }

        // ---- incremental stepping (used by GenerationHandle and the frame scheduler) ----

        /// <summary>True while tokens wait to be evaluated or a step is half done.</summary>
        internal bool HasWork => _pending.Count > 0 || _stepCount > 0;

        internal bool StepInProgress => _stepCount > 0;

        internal int StepTokenCount => _stepCount;

        internal int PendingCount => _pending.Count;

        internal int MaxBatch => _maxBatch;

        /// <summary>The scratch of the step in progress (lent from <see cref="Model.Passes"/> from its start to its end).</summary>
        private ForwardPass Pass => _pass ?? throw new InvalidOperationException("no step in progress");

        /// <summary>Gives the step's scratch back to the model, for the next step of any of its sessions (a pass of its own stays).</summary>
        private void ReturnPass()
        {
            // Taken atomically: Dispose on the game thread must never hand back a pass a worker hands back too.
            var pass = System.Threading.Interlocked.Exchange(ref _pass, null);
            if (pass != null && pass != _ownPass) _model.Passes.Return(pass);
        }

        internal int LayerCount => _model.Config.LayerCount;

        /// <summary>True when every layer of the current step ran and only finishing it (logits, commit) is left.</summary>
        internal bool StepLayersDone => Batch == null && _stepCount > 0 && Pass.LayersDone;

        /// <summary>Cached positions a context shift still has to move in the layer the current step runs next (see <see cref="KvCache.ShiftLeft"/>).</summary>
        internal int NextLayerShiftRows => Batch == null && _stepCount > 0 && !Pass.LayersDone ? _cache.PendingShiftRows(Pass.NextLayer) : 0;

        /// <summary>True when finishing the current step computes logits (it consumes the last pending token).</summary>
        internal bool StepProducesLogits => _stepCount > 0 && (_stepCount == _pending.Count || _onLogits != null);

        /// <summary>Queues tokens; at position 0 a registered shared prefix they start with is attached instead of prefilled.</summary>
        internal void Append(IReadOnlyList<int> tokens, bool newTurn)
        {
            int start = 0;
            if (Position == 0 && _pending.Count == 0 && _cache.SharedLength == 0 && _onLogits == null)
            {
                var prefix = _model.Prefixes.FindLongest(tokens, _cache.Type);
                if (prefix != null)
                {
                    _cache.AttachShared(prefix.Cache, prefix.Length);
                    _tokens.AddRange(prefix.Tokens);
                    PinnedLength = Math.Max(PinnedLength, prefix.Length);
                    prefix.LastLogits.CopyTo(_logits, 0);
                    _hasLogits = true;
                    start = prefix.Length;
                }
            }
            if (newTurn && tokens.Count > start) _turnStarts.Add(Position + _pending.Count);
            if (_pending.Count == 0 && _stepCount == 0)
            {
                _evalDone = 0;
                _evalLength = 0;
            }
            _evalLength += tokens.Count - start;
            for (int i = start; i < tokens.Count; i++) _pending.Add(tokens[i]);
            if (tokens.Count > start) _hasLogits = false;
        }

        /// <summary>Starts a forward step over up to <paramref name="maxTokens"/> pending tokens, trimming old turns first if the context is full.</summary>
        internal void BeginStep(int maxTokens)
        {
            if (_stepCount > 0) throw new InvalidOperationException("a step is already in progress");
            if (_pending.Count == 0) throw new InvalidOperationException("no pending tokens");
            int n = Math.Min(Math.Min(Math.Max(1, maxTokens), _pending.Count), _maxBatch);
            EnsureRoom(n);
            n = Math.Min(n, _pending.Count);
            for (int i = 0; i < n; i++) _step[i] = _pending[i];
            _pass ??= _maxBatch > ForwardPassPool.LargestLent ? _ownPass ??= new ForwardPass(_model.Transformer, _maxBatch, _model.Pool) : _model.Passes.Rent(_maxBatch);
            Pass.Begin(_step.AsSpan(0, n), Position, _evalDone, _evalLength);
            _stepCount = n;
        }

        /// <summary>
        /// Runs up to <paramref name="maxLayers"/> layers of the current step; once every layer ran, finishes the step
        /// (logits, commit) unless <paramref name="finish"/> is false (then a later call finishes it).
        /// </summary>
        /// <returns>True when the step finished.</returns>
        internal bool RunLayers(int maxLayers, bool finish = true)
        {
            if (Batch != null) throw new InvalidOperationException("the step runs in a decode batch");
            var costs = Model.SliceCosts;
            for (int i = 0; i < maxLayers && !Pass.LayersDone; i++)
            {
                bool whole = Pass.NextStage == 0;
                if (whole) CompleteShift(Pass.NextLayer);
                long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                Pass.RunNextLayer(_cache);
                // A layer begun part by part counts the time of its parts too.
                costs.ObserveLayer(this, _stepCount, Ms(t1) + (whole ? 0 : _stages.TotalMs));
            }
            if (!Pass.LayersDone || !finish) return false;
            FinishStep();
            return true;
        }

        /// <summary>The part of the current step's next layer that <see cref="RunStage"/> runs next (0 at a layer's start).</summary>
        internal int StepStage => _pass?.NextStage ?? 0;

        /// <summary>
        /// Runs one part of the current step's next layer (see <see cref="ForwardPass.RunNextStage"/>): a layer of a large
        /// model can take longer than a frame's budget. Once a layer's parts all ran, its time feeds the cost model.
        /// </summary>
        internal void RunStage()
        {
            if (Batch != null) throw new InvalidOperationException("the step runs in a decode batch");
            if (_stepCount == 0 || Pass.LayersDone) throw new InvalidOperationException("no layer to run");
            if (Pass.NextStage == 0) CompleteShift(Pass.NextLayer);
            if (_stages.RunNext(Pass, _cache, Model.SliceCosts)) Model.SliceCosts.ObserveLayer(this, _stepCount, _stages.TotalMs);
        }

        /// <summary>Moves the cached positions a context shift left pending in <paramref name="layer"/>, before a step runs it.</summary>
        internal void CompleteShift(int layer)
        {
            int shiftRows = _cache.PendingShiftRows(layer);
            if (shiftRows == 0) return;
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            _cache.CompleteShift(layer);
            Model.SliceCosts.ObserveShift(shiftRows, Ms(t0));
        }

        // ---- decode batches (several sessions' next tokens in one step, see DecodeBatch) ----

        /// <summary>The decode batch the current step runs in, if any.</summary>
        internal DecodeBatch? Batch { get; private set; }

        /// <summary>
        /// True when the next step is a one-token evaluation (a generated token after a finished one) not yet started:
        /// it can run as a row of a <see cref="DecodeBatch"/> with the same arithmetic as alone.
        /// </summary>
        internal bool CanJoinBatch => Batch == null && _stepCount == 0 && _pending.Count == 1 && _evalLength == 1 && _evalDone == 0 && _onLogits == null;

        /// <summary>True while a one-token step of a generated token runs alone (not in a batch).</summary>
        internal bool LoneTokenStepInProgress => Batch == null && _stepCount == 1 && _evalLength == 1;

        /// <summary>
        /// Starts the step as a row of <paramref name="batch"/>, making room in the context first as a step of its own
        /// would. False when that requeued tokens for evaluation again (the step then runs alone, as it would have).
        /// </summary>
        internal bool BeginBatchRow(DecodeBatch batch, out int token, out int position)
        {
            if (!CanJoinBatch) throw new InvalidOperationException("the session's next step is not a lone generated token");
            EnsureRoom(1);
            token = position = 0;
            if (_pending.Count != 1 || _evalLength != 1) return false;
            _step[0] = token = _pending[0];
            position = Position;
            _stepCount = 1;
            Batch = batch;
            return true;
        }

        /// <summary>Finishes a batch row's step with its logits: the session then stands as after a step of its own.</summary>
        internal void FinishBatchRow(ReadOnlySpan<float> logits)
        {
            if (Batch == null) throw new InvalidOperationException("no batch step in progress");
            logits.CopyTo(_logits);
            _tokens.Add(_step[0]);
            _pending.RemoveAt(0);
            _evalDone++;
            _stepCount = 0;
            _hasLogits = true;
            Batch = null;
            _model.CountPrefilled(1);
        }

        private static double Ms(long since) => (System.Diagnostics.Stopwatch.GetTimestamp() - since) * 1000.0 / System.Diagnostics.Stopwatch.Frequency;

        /// <summary>Vocabulary rows of the output projection still to compute before the step can finish.</summary>
        internal int LogitsRowsLeft => StepLayersDone && StepProducesLogits && _onLogits == null ? Pass.VocabularyRows - Math.Max(0, _logitsDone) : 0;

        /// <summary>
        /// Computes up to <paramref name="rows"/> more vocabulary rows of the finished layers' output projection (a
        /// large vocabulary's projection can take longer than a frame's budget). Finishing the step computes the rest.
        /// </summary>
        internal void ProjectLogits(int rows)
        {
            if (!StepLayersDone || !StepProducesLogits || _onLogits != null) throw new InvalidOperationException("no output projection to compute");
            if (_logitsDone < 0)
            {
                Pass.BeginLogits(_stepCount - 1);
                _logitsDone = 0;
            }
            // Whole blocks of 64 rows (interleaved weights go by groups of 8).
            int end = Math.Min(Pass.VocabularyRows, (_logitsDone + Math.Max(1, rows) + 63) / 64 * 64);
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            Pass.ProjectLogits(_logitsDone, end);
            // Observed as the whole projection's time.
            Model.SliceCosts.ObserveLogits(Ms(t0) * Pass.VocabularyRows / (end - _logitsDone));
            _logitsDone = end;
        }

        /// <summary>Abandons a half-done step and every pending token (after cancellation).</summary>
        internal void DiscardPending()
        {
            Batch?.Drop(this);
            Batch = null;
            _pending.Clear();
            _stepCount = 0;
            ReturnPass();
            _logitsDone = -1;
            _evalDone = 0;
            _evalLength = 0;
            _turnStarts.RemoveAll(t => t >= Position);
        }

        private void FinishStep()
        {
            int n = _stepCount;
            int first = Position;
            bool last = n == _pending.Count;
            if (_onLogits != null)
            {
                for (int i = 0; i < n; i++)
                {
                    Pass.ComputeLogits(i, _logits);
                    _onLogits(first + i, _logits);
                }
            }
            else if (last)
            {
                // The output projection, or what a scheduler left of it (see ProjectLogits).
                if (_logitsDone < 0) Pass.BeginLogits(n - 1);
                int start = Math.Max(0, _logitsDone);
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                Pass.ProjectLogits(start, Pass.VocabularyRows);
                if (start == 0) Model.SliceCosts.ObserveLogits(Ms(t0));
                Pass.EndLogits(_logits);
            }
            _logitsDone = -1;
            ReturnPass();
            for (int i = 0; i < n; i++) _tokens.Add(_step[i]);
            _pending.RemoveRange(0, n);
            _evalDone += n;
            _stepCount = 0;
            _hasLogits = last || _onLogits != null;
            _model.CountPrefilled(n);
        }

        private void EnsureRoom(int n)
        {
            if (Position + n <= ContextLength) return;
            int pinned = Math.Max(PinnedLength, _cache.SharedLength);
            if (!_options.DropOldTurnsOnOverflow || pinned + n > ContextLength)
                throw new ContextFullException(
                    $"{n} tokens do not fit: {Position} of {ContextLength} positions are used" +
                    (_options.DropOldTurnsOnOverflow ? $" and {pinned} are pinned" : " and dropping old turns is off"));

            // Drop whole turns after the pinned prefix until the new tokens fit with a quarter of the context to spare.
            int mustDrop = Position + n - ContextLength;
            int wantDrop = Math.Min(Position - pinned, mustDrop + ContextLength / 4);
            int cut = -1;
            foreach (int t in _turnStarts)
            {
                if (t <= pinned) continue;
                if (t > Position) break;
                if (t - pinned >= mustDrop) { cut = t; if (t - pinned >= wantDrop) break; }
            }
            if (cut < 0) cut = pinned + Math.Max(mustDrop, Math.Min(wantDrop, Position - pinned));
            if (cut > Position) cut = Position;

            var dropped = _tokens.GetRange(pinned, cut - pinned);
            var kept = _tokens.GetRange(cut, Position - cut);
            var trim = new ContextTrim(pinned, dropped, pinned + kept.Count);
            IReadOnlyList<int>? summary = _options.Summarizer?.Invoke(trim);
            int summaryCount = summary?.Count ?? 0;
            if (pinned + summaryCount + kept.Count + n > ContextLength) summary = null;

            int shift = cut - pinned - (summary?.Count ?? 0);
            if (summary == null && _options.ContextShift == ContextShift.RotateKeys && cut > pinned)
            {
                // Kept tokens move down in place; their keys are re-rotated for the new positions.
                _cache.ShiftLeft(cut, Position - cut, cut - pinned, _ropeShift ??= new RopeShift(_model.Config));
                _tokens.RemoveRange(pinned, cut - pinned);
            }
            else
            {
                // Kept tokens are evaluated again at their new positions (after the summary, if any).
                _tokens.RemoveRange(pinned, _tokens.Count - pinned);
                _cache.Truncate(pinned);
                var requeue = new List<int>();
                if (summary != null) requeue.AddRange(summary);
                requeue.AddRange(kept);
                _pending.InsertRange(0, requeue);
                _evalLength += requeue.Count;
            }
            for (int i = _turnStarts.Count - 1; i >= 0; i--)
            {
                if (_turnStarts[i] > pinned && _turnStarts[i] < cut) _turnStarts.RemoveAt(i);
                else if (_turnStarts[i] >= cut) _turnStarts[i] -= shift;
            }
            _hasLogits = false;
            ContextTrimmed?.Invoke(trim);
            ActiveJob?.OnContextTrimmed(trim);
        }

        /// <summary>Copies this session's tokens and KV cache into a shared prefix (used by <see cref="Model.CreatePrefix"/>).</summary>
        internal SharedPrefix DetachAsPrefix()
        {
            _detached = true;
            return new SharedPrefix(_tokens.ToArray(), _cache, (float[])_logits.Clone());
        }

        internal KvCache Cache => _cache;

        private bool _detached; // the cache now belongs to a SharedPrefix

        internal List<int> PendingTokens => _pending;

        internal List<int> TurnStarts => _turnStarts;

        internal void RestoreState(IReadOnlyList<int> tokens, IReadOnlyList<int> turnStarts, int pinned, float[]? logits)
        {
            _tokens.Clear();
            _tokens.AddRange(tokens);
            _turnStarts.Clear();
            _turnStarts.AddRange(turnStarts);
            _pending.Clear();
            PinnedLength = pinned;
            if (logits != null)
            {
                logits.CopyTo(_logits, 0);
                _hasLogits = true;
            }
            else
            {
                _hasLogits = false;
            }
        }

        /// <summary>Cancels a running request and hands the session's KV blocks to the model's next sessions.</summary>
        public void Dispose()
        {
            ActiveJob?.Cancel();
            // Only when no slice can still be reading them (a worker thread finishes a running one first), and never
            // blocks that became a shared prefix.
            if (!_detached && (ActiveJob == null || ActiveJob.IsFinished)) _cache.Clear();
            // The same for a half-done step's scratch: while a slice may still run on a worker, the request it belongs
            // to hands it back when it sees the cancellation (DiscardPending).
            if (ActiveJob == null || ActiveJob.IsFinished) ReturnPass();
        }
    }
}
