using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Tools;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Sampling;
using NpcSdk.Scheduling;
using NpcSdk.Tokenization;

namespace NpcSdk.Agents.Local
{
    /// <summary>
    /// <see cref="ITextGenerator"/> over a model running in this process. Prompts are rendered in the model's chat
    /// format with every message's text as content (never parsed for special tokens); tool calls are constrained to
    /// the granted tools while the model writes them. Sessions are kept and reused by longest common prompt prefix,
    /// so a conversation's earlier turns are not recomputed. With a <see cref="FrameScheduler"/> the work runs in the
    /// game's frame budget; without one it runs on the calling thread.
    /// </summary>
    public sealed class LocalTextGenerator : ITextGenerator, IDisposable
    {
        private readonly Model _model;
        private readonly FrameScheduler? _scheduler;
        private readonly SessionOptions _sessionOptions;
        private readonly List<InferenceSession> _sessions = new List<InferenceSession>();
        private readonly HashSet<InferenceSession> _busy = new HashSet<InferenceSession>();
        private readonly object _gate = new object();
        private readonly int _toolCallStart, _toolCallEnd;
        private readonly ToolCallConstraint _constraints = new ToolCallConstraint();

        /// <summary>Creates the generator.</summary>
        /// <param name="model">The model.</param>
        /// <param name="scheduler">Runs generation within frame budgets; null runs it on the calling thread.</param>
        /// <param name="maxSessions">Sessions kept for prompt reuse (one per NPC in conversation is ideal).</param>
        /// <param name="sessionOptions">Options of the sessions.</param>
        public LocalTextGenerator(Model model, FrameScheduler? scheduler = null, int maxSessions = 8, SessionOptions? sessionOptions = null)
        {
            _model = model ?? throw new ArgumentNullException(nameof(model));
            _scheduler = scheduler;
            MaxSessions = Math.Max(1, maxSessions);
            _sessionOptions = sessionOptions ?? new SessionOptions();
            _toolCallStart = FindToken("<tool_call>");
            _toolCallEnd = FindToken("</tool_call>");
            if (FindToken("<|im_start|>") < 0)
                throw new ModelNotSupportedException($"{model.File.Source}: LocalTextGenerator renders ChatML; this model has no <|im_start|> token");
        }

        /// <summary>Sessions kept for reuse.</summary>
        public int MaxSessions { get; }

        /// <summary>Prompt tokens evaluated by the last request (the rest came from a reused session).</summary>
        public int LastPromptTokensEvaluated { get; private set; }

        /// <summary>The model.</summary>
        public Model Model => _model;

        private int FindToken(string text)
        {
            var tok = _model.Tokenizer;
            for (int i = 0; i < tok.VocabSize; i++)
                if (tok.TokenText(i) == text && (tok.IsControl(i) || tok.Encode(text, false, true).Length == 1)) return i;
            return -1;
        }

        /// <summary>The prompt as markup and content segments (ChatML).</summary>
        public static IReadOnlyList<TextSegment> RenderChatMl(IReadOnlyList<DialogueMessage> messages)
        {
            var s = new List<TextSegment>();
            foreach (var m in messages)
            {
                s.Add(TextSegment.Markup($"<|im_start|>{m.Role.ToString().ToLowerInvariant()}\n"));
                s.Add(TextSegment.Content(m.Content));
                if (m.ToolCall != null)
                {
                    if (m.Content.Length > 0) s.Add(TextSegment.Content("\n"));
                    s.Add(TextSegment.Markup("<tool_call>"));
                    s.Add(TextSegment.Content(m.ToolCall.ToJson()));
                    s.Add(TextSegment.Markup("</tool_call>"));
                }
                s.Add(TextSegment.Markup("<|im_end|>\n"));
            }
            s.Add(TextSegment.Markup("<|im_start|>assistant\n"));
            return s;
        }

        /// <inheritdoc/>
        public async Task<GeneratedReply> GenerateAsync(ReplyRequest request, CancellationToken cancellationToken = default)
        {
            int[] prompt = _model.Tokenizer.Encode(RenderChatMl(request.Messages));
            var session = Acquire(prompt, out int reuse);
            try
            {
                LastPromptTokensEvaluated = prompt.Length - reuse;
                const int topK = 40;
                var sampler = new SamplerChain(new SamplingOptions
                {
                    Temperature = request.Temperature,
                    TopP = request.TopP,
                    TopK = topK,
                    MinP = 0.05f,
                    Seed = request.Seed,
                    LogitBias = request.Tools.Count == 0 && _toolCallStart >= 0 ? new Dictionary<int, float> { [_toolCallStart] = float.NegativeInfinity } : null,
                });
                var constraint = _constraints.Create(_model.Tokenizer, request.Tools, _toolCallStart, _toolCallEnd, request.Temperature <= 0 ? 1 : topK);
                if (constraint != null) sampler.AddConstraint(constraint);
                var genRequest = new GenerationRequest
                {
                    Tokens = prompt.Skip(reuse).ToArray(),
                    MaxTokens = request.MaxTokens,
                    Sampler = sampler,
                    Priority = request.Priority,
                    CancellationToken = cancellationToken,
                    StopTokens = _toolCallEnd >= 0 ? new[] { _toolCallEnd } : null,
                };
                GenerationHandle handle;
                if (_scheduler != null)
                {
                    handle = _scheduler.Submit(session, genRequest);
                }
                else
                {
                    handle = session.Begin(genRequest);
                }
                if (request.OnText != null) handle.TokenGenerated += (h, t) => { if (t.Text.Length > 0) request.OnText(t.Text); };
                GenerationResult result = _scheduler != null ? await handle.Completion.ConfigureAwait(false) : handle.RunToEnd();
                if (result.StopReason == GenerationStopReason.Failed) throw new InvalidOperationException("generation failed: " + result.Error?.Message, result.Error);
                cancellationToken.ThrowIfCancellationRequested();
                return Parse(result.Tokens);
            }
            finally
            {
                Release(session);
            }
        }

        /// <summary>Splits generated tokens into spoken text and a tool call.</summary>
        private GeneratedReply Parse(IReadOnlyList<int> tokens)
        {
            var tok = _model.Tokenizer;
            var ids = tokens.Where(t => !tok.IsEndOfGeneration(t)).ToList();
            int start = _toolCallStart >= 0 ? ids.IndexOf(_toolCallStart) : -1;
            if (start < 0) return new GeneratedReply(tok.Decode(ids, removeSpecial: true, unparseSpecial: false).Trim(), null);
            int end = ids.IndexOf(_toolCallEnd, start + 1);
            string text = tok.Decode(ids.Take(start).ToList(), removeSpecial: true, unparseSpecial: false).Trim();
            var jsonIds = ids.Skip(start + 1).Take((end < 0 ? ids.Count : end) - start - 1).ToList();
            string json = tok.Decode(jsonIds, removeSpecial: true, unparseSpecial: false).Trim();
            try
            {
                return new GeneratedReply(text, ToolCall.Parse(json));
            }
            catch (ToolCallRejectedException)
            {
                return new GeneratedReply(text, null, json);
            }
        }

        private InferenceSession Acquire(int[] prompt, out int reuse)
        {
            lock (_gate)
            {
                InferenceSession? best = null;
                int bestLen = -1;
                foreach (var s in _sessions)
                {
                    if (_busy.Contains(s)) continue;
                    int n = CommonPrefix(s.Tokens, prompt);
                    if (n > bestLen) { best = s; bestLen = n; }
                }
                if (best == null || (bestLen < 16 && _sessions.Count < MaxSessions))
                {
                    best = _model.CreateSession(_sessionOptions);
                    _sessions.Add(best);
                    bestLen = 0;
                }
                // Keep at least one prompt token to evaluate, so the reply starts from fresh logits.
                reuse = Math.Min(bestLen, prompt.Length - 1);
                if (reuse < best.SharedPrefixLength) { best.Reset(); reuse = 0; }
                else best.Rewind(reuse);
                _busy.Add(best);
                // Most recently used last: the oldest idle session is the one replaced.
                _sessions.Remove(best);
                _sessions.Add(best);
                return best;
            }
        }

        private void Release(InferenceSession s)
        {
            lock (_gate) _busy.Remove(s);
        }

        private static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
        {
            int n = Math.Min(a.Count, b.Count), i = 0;
            while (i < n && a[i] == b[i]) i++;
            return i;
        }

        /// <summary>Releases the sessions.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                foreach (var s in _sessions) s.Dispose();
                _sessions.Clear();
            }
        }
    }
}
