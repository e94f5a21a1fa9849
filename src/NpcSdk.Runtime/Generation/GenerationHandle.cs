using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NpcSdk.Sampling;
using NpcSdk.Tokenization;

namespace NpcSdk.Generation
{
    /// <summary>State of a generation request.</summary>
    public enum GenerationStatus
    {
        /// <summary>Waiting for its first slice of work.</summary>
        Queued,
        /// <summary>Evaluating its prompt or generating.</summary>
        Running,
        /// <summary>Finished (see <see cref="GenerationHandle.Result"/>).</summary>
        Finished,
    }

    /// <summary>One token as the game sees it.</summary>
    public readonly struct GeneratedToken
    {
        internal GeneratedToken(int id, string text, int index)
        {
            Id = id;
            Text = text;
            Index = index;
        }

        /// <summary>Token id.</summary>
        public int Id { get; }

        /// <summary>The text this token completes (empty while a UTF-8 character is still partial).</summary>
        public string Text { get; }

        /// <summary>0 for the first generated token.</summary>
        public int Index { get; }
    }

    /// <summary>
    /// A generation request in progress on a session. Advanced in slices (by a <see cref="Scheduling.FrameScheduler"/>
    /// or by <see cref="InferenceSession.Run"/>); events are raised where the scheduler dispatches them (the game thread).
    /// </summary>
    public sealed class GenerationHandle
    {
        private readonly InferenceSession _session;
        private readonly GenerationRequest _request;
        private readonly SamplerChain _sampler;
        private readonly TokenStreamDecoder _stream;
        private readonly List<int> _generated = new List<int>();
        private readonly System.Text.StringBuilder _text = new System.Text.StringBuilder();
        private readonly TaskCompletionSource<GenerationResult> _completion = new TaskCompletionSource<GenerationResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Action<Action>? _post;
        private readonly AsyncTextQueue _textQueue = new AsyncTextQueue();
        private volatile bool _cancelRequested;
        private bool _started;

        internal GenerationHandle(InferenceSession session, GenerationRequest request, Action<Action>? post)
        {
            if (request.MaxTokens < 0) throw new ArgumentOutOfRangeException(nameof(request), request.MaxTokens, "MaxTokens must not be negative");
            if (session.ActiveJob != null && !session.ActiveJob.IsFinished)
                throw new InvalidOperationException("the session already has a generation running");
            _session = session;
            _request = request;
            _post = post;
            _sampler = request.Sampler ?? new SamplerChain(request.Sampling);
            _stream = session.Model.Tokenizer.CreateStreamDecoder(special: false);
            session.ActiveJob = this;
            session.Append(request.Tokens, newTurn: true);
            if (!session.HasWork && !session.HasLogits)
                Finish(GenerationStopReason.Failed, new InvalidOperationException("nothing to generate from: the session is empty and the request has no tokens"));
        }

        /// <summary>The session this runs on.</summary>
        public InferenceSession Session => _session;

        /// <summary>The request.</summary>
        public GenerationRequest Request => _request;

        /// <summary>Scheduling priority.</summary>
        public int Priority => _request.Priority;

        /// <summary>Current state.</summary>
        public GenerationStatus Status => Result != null ? GenerationStatus.Finished : _started ? GenerationStatus.Running : GenerationStatus.Queued;

        /// <summary>True once finished (completed, cancelled or failed).</summary>
        public bool IsFinished => Result != null;

        /// <summary>Tokens generated so far.</summary>
        public IReadOnlyList<int> Tokens => _generated;

        /// <summary>The result, once finished.</summary>
        public GenerationResult? Result { get; private set; }

        /// <summary>Completes with the result (on a thread-pool thread); for code that does not care about frames.</summary>
        public Task<GenerationResult> Completion => _completion.Task;

        /// <summary>Raised for each generated token, on the thread that dispatches scheduler events.</summary>
        public event Action<GenerationHandle, GeneratedToken>? TokenGenerated;

        /// <summary>Raised once when finished, on the thread that dispatches scheduler events.</summary>
        public event Action<GenerationHandle, GenerationResult>? Finished;

        /// <summary>Raised when the session dropped old turns to make room, on the thread that dispatches scheduler events.</summary>
        public event Action<GenerationHandle, ContextTrim>? ContextTrimmed;

        /// <summary>Slices of work this request has received.</summary>
        public int SlicesRun { get; internal set; }

        /// <summary>Ticks the scheduler ran since this request was submitted (main-thread mode).</summary>
        internal int TicksWaited { get; set; }

        /// <summary>Scheduler tick at which the first token was produced (-1 before).</summary>
        public int FirstTokenTick { get; internal set; } = -1;

        /// <summary>Scheduler tick at which the request was submitted.</summary>
        public int SubmitTick { get; internal set; }

        /// <summary>Runs the request to its end on the calling thread (no frame budget) and returns the result.</summary>
        public GenerationResult RunToEnd()
        {
            while (!IsFinished) Advance(int.MaxValue, int.MaxValue);
            return Result!;
        }

        /// <summary>
        /// Stops the request: at once when none of its work is running (a scheduled request between ticks), otherwise at
        /// the next slice boundary. Its pending prompt is discarded; the tokens generated so far stay in the session.
        /// </summary>
        public void Cancel()
        {
            _cancelRequested = true;
            _cancelNow?.Invoke(this);
        }

        /// <summary>Set by a scheduler: finishes a cancelled request at once when none of its work is running.</summary>
        internal Action<GenerationHandle>? _cancelNow;

        /// <summary>The generated text as it arrives, piece by piece; ends when the request finishes.</summary>
        public IAsyncEnumerable<string> StreamTextAsync(CancellationToken cancellationToken = default) => _textQueue.ReadAllAsync(cancellationToken);

        internal bool CancelRequested => _cancelRequested || _request.CancellationToken.IsCancellationRequested;

        /// <summary>
        /// Does one slice of work: continues the step in progress by up to <paramref name="maxLayers"/> layers (with
        /// <paramref name="oneStage"/>, by one part of a layer), or starts a step over up to
        /// <paramref name="maxPrefillTokens"/> pending tokens; samples when logits are ready. With
        /// <paramref name="finishStep"/> false, a step whose last layer ran is finished (output projection, sampling) by
        /// the next call instead, so that work is a unit of its own.
        /// </summary>
        internal void Advance(int maxLayers, int maxPrefillTokens, bool finishStep = true, bool oneStage = false)
        {
            if (IsFinished) return;
            if (CancelRequested)
            {
                _session.DiscardPending();
                Finish(GenerationStopReason.Cancelled, null);
                return;
            }
            _started = true;
            SlicesRun++;
            try
            {
                if (_session.HasWork)
                {
                    if (!_session.StepInProgress) _session.BeginStep(maxPrefillTokens);
                    if (oneStage && !_session.StepLayersDone)
                    {
                        _session.RunStage();
                        return;
                    }
                    if (!_session.RunLayers(maxLayers, finishStep)) return;
                    if (_session.HasWork) return; // more prompt chunks to go
                }
                SampleNext();
            }
            catch (Exception e)
            {
                _session.DiscardPending();
                Finish(GenerationStopReason.Failed, e);
            }
        }

        /// <summary>Ends the request as failed (work it shared with other requests threw).</summary>
        internal void Fail(Exception error)
        {
            _session.DiscardPending();
            Finish(GenerationStopReason.Failed, error);
        }

        private void SampleNext()
        {
            if (_generated.Count >= _request.MaxTokens)
            {
                Finish(GenerationStopReason.MaxTokens, null);
                return;
            }
            long t0 = Stopwatch.GetTimestamp();
            int token = _sampler.Sample(_session.LogitsArray, _session.Tokens);
            _session.Model.SliceCosts.ObserveSample((Stopwatch.GetTimestamp() - t0) * 1000.0 / Stopwatch.Frequency);
            _generated.Add(token);
            bool eog = _session.Model.Tokenizer.IsEndOfGeneration(token);
            string piece = _stream.Append(token);
            _text.Append(piece);
            _textQueue.Add(piece);
            var evt = new GeneratedToken(token, piece, _generated.Count - 1);
            Post(() => TokenGenerated?.Invoke(this, evt));
            if (eog && _request.StopAtEndOfGeneration)
            {
                Finish(GenerationStopReason.EndOfGeneration, null);
                return;
            }
            if (_request.StopTokens != null && _request.StopTokens.Contains(token))
            {
                Finish(GenerationStopReason.StopToken, null);
                return;
            }
            if (_generated.Count >= _request.MaxTokens)
            {
                Finish(GenerationStopReason.MaxTokens, null);
                return;
            }
            _session.Append(new[] { token }, newTurn: false);
        }

        internal void OnContextTrimmed(ContextTrim trim) => Post(() => ContextTrimmed?.Invoke(this, trim));

        private void Finish(GenerationStopReason reason, Exception? error)
        {
            if (Result != null) return;
            string tail = _stream.Flush();
            _text.Append(tail);
            if (tail.Length > 0) _textQueue.Add(tail);
            var result = new GenerationResult(_generated.ToArray(), _text.ToString(), reason, error);
            Result = result;
            _textQueue.Complete(error);
            // Queued before the task completes: code that awaits Completion and then dispatches events (worker mode)
            // must find Finished among them, not race the worker thread for it.
            Post(() => Finished?.Invoke(this, result));
            _completion.TrySetResult(result);
        }

        private void Post(Action a)
        {
            if (_post != null) _post(a);
            else a();
        }
    }

    /// <summary>A text queue with one writer and one reader, read as an async stream.</summary>
    internal sealed class AsyncTextQueue
    {
        private readonly Queue<string> _items = new Queue<string>();
        private readonly object _gate = new object();
        private TaskCompletionSource<bool> _signal = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _done;
        private Exception? _error;

        public void Add(string item)
        {
            if (item.Length == 0) return;
            lock (_gate)
            {
                _items.Enqueue(item);
                _signal.TrySetResult(true);
            }
        }

        public void Complete(Exception? error)
        {
            lock (_gate)
            {
                _done = true;
                _error = error;
                _signal.TrySetResult(true);
            }
        }

        public async IAsyncEnumerable<string> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
        {
            while (true)
            {
                string? item = null;
                Task? wait = null;
                bool done = false;
                Exception? error = null;
                lock (_gate)
                {
                    if (_items.Count > 0)
                    {
                        item = _items.Dequeue();
                    }
                    else if (_done)
                    {
                        done = true;
                        error = _error;
                    }
                    else
                    {
                        if (_signal.Task.IsCompleted) _signal = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                        wait = _signal.Task;
                    }
                }
                if (item != null)
                {
                    yield return item;
                    continue;
                }
                if (done)
                {
                    if (error != null) throw new InvalidOperationException("generation failed: " + error.Message, error);
                    yield break;
                }
                await Task.WhenAny(wait!, Task.Delay(Timeout.Infinite, ct)).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
            }
        }
    }
}
