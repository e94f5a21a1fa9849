using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.AI;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Local;
using NpcSdk.Agents.Tools;
using NpcSdk.Generation;
using NpcSdk.Models;

namespace NpcSdk.Extensions.AI
{
    /// <summary>
    /// An <see cref="IChatClient"/> over a chat model (ChatML) running in this process, through the agent layer's
    /// <see cref="LocalTextGenerator"/>: prompts are rendered with message text as content (never parsed for control
    /// tokens), sessions are reused by common prefix, and tool calls are limited to the declared tools.
    /// </summary>
    /// <remarks>
    /// Function declarations in <see cref="ChatOptions.Tools"/> become tools the model may call; a call comes back as a
    /// <see cref="FunctionCallContent"/> with <see cref="ChatFinishReason.ToolCalls"/>, and
    /// <see cref="FunctionResultContent"/> messages are rendered as <c>tool</c> turns, so the client works under
    /// <c>UseFunctionInvocation()</c>. Requests are served one at a time (the model's compute threads are shared);
    /// concurrent callers wait their turn. <see cref="ChatOptions.TopK"/>, penalties and a required tool mode are not
    /// supported: the generator samples with top-k 40 and lets the model decide whether to call a tool.
    /// </remarks>
    public sealed class NpcChatClient : IChatClient
    {
        private readonly Model _model;
        private readonly LocalTextGenerator _generator;
        private readonly NpcChatClientOptions _options;
        private readonly SemaphoreSlim _turn = new SemaphoreSlim(1, 1);
        private readonly ChatClientMetadata _metadata;

        /// <summary>Creates a client over <paramref name="model"/> (which the caller keeps and disposes).</summary>
        /// <exception cref="ModelNotSupportedException">The model has no ChatML tokens.</exception>
        public NpcChatClient(Model model, NpcChatClientOptions? options = null)
        {
            _model = model ?? throw new ArgumentNullException(nameof(model));
            _options = options ?? new NpcChatClientOptions();
            if (_options.DefaultMaxOutputTokens < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.DefaultMaxOutputTokens, "DefaultMaxOutputTokens must be at least 1");
            _generator = new LocalTextGenerator(model, scheduler: null, maxSessions: _options.MaxSessions, sessionOptions: _options.SessionOptions);
            ModelId = _options.ModelId ?? Path.GetFileNameWithoutExtension(model.File.Source);
            _metadata = new ChatClientMetadata("npcsdk", null, ModelId);
        }

        /// <summary>The model id reported in responses.</summary>
        public string ModelId { get; }

        /// <summary>The model.</summary>
        public Model Model => _model;

        /// <summary>Tokens a request's prompt and reply may use together (the sessions' context length).</summary>
        public int ContextLength => _options.SessionOptions is { ContextLength: > 0 } so ? so.ContextLength : Math.Min(_model.Config.ContextLength, 4096);

        /// <inheritdoc/>
        /// <exception cref="ContextFullException">The prompt, with the tokens asked for, does not fit the context.</exception>
        /// <exception cref="ArgumentException">A message has a role the chat format does not have, or no message was given.</exception>
        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var turn = Prepare(messages, options);
            var outcome = await RunAsync(turn, null, cancellationToken).ConfigureAwait(false);
            var message = new ChatMessage(ChatRole.Assistant, outcome.Contents(includeUsage: false)) { MessageId = turn.Id, CreatedAt = turn.Created };
            return new ChatResponse(message)
            {
                ResponseId = turn.Id,
                ModelId = ModelId,
                CreatedAt = turn.Created,
                FinishReason = outcome.FinishReason,
                Usage = outcome.Usage,
            };
        }

        /// <inheritdoc/>
        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var turn = Prepare(messages, options);
            var queue = new TextPieceQueue();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var run = RunAsync(turn, queue.Add, stop.Token);
            _ = run.ContinueWith(t =>
            {
                _ = t.Exception; // observed here; the reader rethrows it by awaiting the task
                queue.Complete();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                await foreach (var piece in queue.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                    yield return Update(turn, new List<AIContent> { new TextContent(piece) });
                var outcome = await run.ConfigureAwait(false);
                var last = Update(turn, outcome.Contents(includeUsage: true).Where(c => !(c is TextContent)).ToList());
                last.FinishReason = outcome.FinishReason;
                yield return last;
            }
            finally
            {
                // A reader that stops early stops the generation too.
                stop.Cancel();
            }
        }

        private ChatResponseUpdate Update(Turn turn, IList<AIContent> contents) => new ChatResponseUpdate(ChatRole.Assistant, contents)
        {
            ResponseId = turn.Id,
            MessageId = turn.Id,
            ModelId = ModelId,
            CreatedAt = turn.Created,
        };

        /// <inheritdoc/>
        public object? GetService(Type serviceType, object? serviceKey = null)
        {
            if (serviceType == null) throw new ArgumentNullException(nameof(serviceType));
            if (serviceKey != null) return null;
            if (serviceType == typeof(ChatClientMetadata)) return _metadata;
            if (serviceType == typeof(Model)) return _model;
            if (serviceType == typeof(LocalTextGenerator)) return _generator;
            return serviceType.IsInstanceOfType(this) ? this : null;
        }

        /// <summary>Releases the sessions (the model stays with its owner), after the request in progress, if any, ends.</summary>
        public void Dispose()
        {
            // A cancelled request stops at its next token; do not free its session under it.
            bool idle = _turn.Wait(TimeSpan.FromSeconds(10));
            _generator.Dispose();
            if (idle) _turn.Release();
        }

        /// <summary>One request, checked and rendered, before it waits for its turn on the model.</summary>
        private sealed class Turn
        {
            public Turn(string id, List<DialogueMessage> messages, List<ToolSpec> tools, IReadOnlyList<string> stops, int maxTokens, int promptTokens)
            {
                Id = id;
                Messages = messages;
                Tools = tools;
                Stops = stops;
                MaxTokens = maxTokens;
                PromptTokens = promptTokens;
            }

            public string Id { get; }
            public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;
            public List<DialogueMessage> Messages { get; }
            public List<ToolSpec> Tools { get; }
            public IReadOnlyList<string> Stops { get; }
            public int MaxTokens { get; }
            public int PromptTokens { get; }
            public float Temperature { get; set; }
            public float TopP { get; set; }
            public ulong Seed { get; set; }
        }

        /// <summary>What the model said.</summary>
        private sealed class Outcome
        {
            public Outcome(string text, FunctionCallContent? call, ChatFinishReason finishReason, UsageDetails usage)
            {
                Text = text;
                Call = call;
                FinishReason = finishReason;
                Usage = usage;
            }

            public string Text { get; }
            public FunctionCallContent? Call { get; }
            public ChatFinishReason FinishReason { get; }
            public UsageDetails Usage { get; }

            public List<AIContent> Contents(bool includeUsage)
            {
                var contents = new List<AIContent>();
                if (Text.Length > 0) contents.Add(new TextContent(Text));
                if (Call != null) contents.Add(Call);
                if (includeUsage) contents.Add(new UsageContent(Usage));
                return contents;
            }
        }

        private Turn Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
        {
            if (messages == null) throw new ArgumentNullException(nameof(messages));
            var dialogue = ChatMessageMapping.ToDialogue(messages, options?.Instructions);
            if (dialogue.Count == 0) throw new ArgumentException("at least one message is needed", nameof(messages));
            var tools = ChatMessageMapping.ToToolSpecs(options);
            if (_options.ListToolsInSystemPrompt) ChatMessageMapping.ListToolsInSystemPrompt(dialogue, tools);
            int promptTokens = _model.Tokenizer.Encode(LocalTextGenerator.RenderChatMl(dialogue)).Length;
            int context = ContextLength;
            if (promptTokens >= context)
                throw new ContextFullException($"{ModelId}: the prompt has {promptTokens} tokens; the context holds {context}, the reply included");
            int maxTokens = options?.MaxOutputTokens ?? Math.Min(_options.DefaultMaxOutputTokens, context - promptTokens);
            if (maxTokens < 1) throw new ArgumentOutOfRangeException(nameof(options), maxTokens, "MaxOutputTokens must be at least 1");
            if (promptTokens + maxTokens > context)
                throw new ContextFullException($"{ModelId}: the prompt has {promptTokens} tokens and {maxTokens} more were asked for; the context holds {context}");
            var defaults = new ReplyRequest(Array.Empty<DialogueMessage>(), Array.Empty<ToolSpec>());
            return new Turn("chatcmpl-" + Guid.NewGuid().ToString("N"), dialogue, tools, options?.StopSequences?.ToArray() ?? Array.Empty<string>(), maxTokens, promptTokens)
            {
                Temperature = Math.Max(0f, options?.Temperature ?? defaults.Temperature),
                TopP = options?.TopP ?? defaults.TopP,
                Seed = options?.Seed is long seed ? unchecked((ulong)seed) : defaults.Seed,
            };
        }

        private async Task<Outcome> RunAsync(Turn turn, Action<string>? onText, CancellationToken cancellationToken)
        {
            await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // The generator runs a request to its end on the calling thread: give it a pool thread, not the caller's.
                return await Task.Run(() => Generate(turn, onText, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _turn.Release();
            }
        }

        private Outcome Generate(Turn turn, Action<string>? onText, CancellationToken cancellationToken)
        {
            var filter = new ReplyTextFilter(turn.Stops);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var request = new ReplyRequest(turn.Messages, turn.Tools)
            {
                MaxTokens = turn.MaxTokens,
                Temperature = turn.Temperature,
                TopP = turn.TopP,
                Seed = turn.Seed,
                OnText = piece =>
                {
                    string visible = filter.Append(piece);
                    if (visible.Length > 0) onText?.Invoke(visible);
                    if (filter.StopHit) stop.Cancel();
                },
            };
            long evaluatedBefore = _model.EvaluatedTokenCount;
            GeneratedReply? reply = null;
            try
            {
                reply = _generator.GenerateAsync(request, stop.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (filter.StopHit && !cancellationToken.IsCancellationRequested)
            {
                // Cut at a stop sequence: the text so far is the reply.
            }
            string tail = filter.Finish();
            if (tail.Length > 0) onText?.Invoke(tail);

            // Requests run one at a time, so the model's evaluation count tells the tokens generated: the prompt part
            // the generator evaluated, then every generated token but the last (which is sampled, not evaluated).
            int generated = (int)Math.Max(0, _model.EvaluatedTokenCount - evaluatedBefore - _generator.LastPromptTokensEvaluated + 1);
            ToolCall? call = reply?.ToolCall;
            if (call != null && !turn.Tools.Any(t => t.Name == call.Name)) call = null;
            ChatFinishReason finish = call != null ? ChatFinishReason.ToolCalls
                : !filter.StopHit && generated >= turn.MaxTokens ? ChatFinishReason.Length
                : ChatFinishReason.Stop;
            var usage = new UsageDetails { InputTokenCount = turn.PromptTokens, OutputTokenCount = generated, TotalTokenCount = turn.PromptTokens + generated };
            var callContent = call != null ? ChatMessageMapping.ToFunctionCall(call, "call_" + Guid.NewGuid().ToString("N").Substring(0, 24)) : null;
            return new Outcome(filter.Text, callContent, finish, usage);
        }
    }
}
