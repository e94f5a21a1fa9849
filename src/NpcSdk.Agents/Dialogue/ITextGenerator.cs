using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NpcSdk.Agents.Tools;

namespace NpcSdk.Agents.Dialogue
{
    /// <summary>Who speaks a message.</summary>
    public enum DialogueRole
    {
        /// <summary>The character sheet (system prompt).</summary>
        System,
        /// <summary>The player, or another NPC talking to this one.</summary>
        User,
        /// <summary>The NPC.</summary>
        Assistant,
        /// <summary>The result of a tool call.</summary>
        Tool,
    }

    /// <summary>One message of a conversation.</summary>
    public sealed class DialogueMessage
    {
        /// <summary>Creates a message.</summary>
        public DialogueMessage(DialogueRole role, string content, ToolCall? toolCall = null)
        {
            Role = role;
            Content = content;
            ToolCall = toolCall;
        }

        /// <summary>Speaker.</summary>
        public DialogueRole Role { get; }

        /// <summary>Text. Player text is always data: it is never parsed for control tokens.</summary>
        public string Content { get; }

        /// <summary>For an assistant message, the tool call it ended with.</summary>
        public ToolCall? ToolCall { get; }

        /// <inheritdoc/>
        public override string ToString() => $"{Role}: {Content}{(ToolCall != null ? " " + ToolCall : "")}";
    }

    /// <summary>A tool the model may call in this reply: its name and argument schema (enums already narrowed to the NPC's data).</summary>
    public sealed class ToolSpec
    {
        /// <summary>Creates a spec.</summary>
        public ToolSpec(string name, string description, string parametersSchemaJson)
        {
            Name = name;
            Description = description;
            ParametersSchemaJson = parametersSchemaJson;
        }

        /// <summary>Tool name.</summary>
        public string Name { get; }

        /// <summary>Description.</summary>
        public string Description { get; }

        /// <summary>JSON schema of the arguments object.</summary>
        public string ParametersSchemaJson { get; }
    }

    /// <summary>What to generate: the conversation so far and the tools allowed.</summary>
    public sealed class ReplyRequest
    {
        /// <summary>Creates a request.</summary>
        public ReplyRequest(IReadOnlyList<DialogueMessage> messages, IReadOnlyList<ToolSpec> tools)
        {
            Messages = messages;
            Tools = tools;
        }

        /// <summary>System message first, then turns; the reply continues after the last one.</summary>
        public IReadOnlyList<DialogueMessage> Messages { get; }

        /// <summary>Tools the reply may call (none: the model cannot call any).</summary>
        public IReadOnlyList<ToolSpec> Tools { get; }

        /// <summary>Most tokens to generate.</summary>
        public int MaxTokens { get; set; } = 96;

        /// <summary>Sampling temperature (0 = greedy).</summary>
        public float Temperature { get; set; } = 0.7f;

        /// <summary>Top-p.</summary>
        public float TopP { get; set; } = 0.9f;

        /// <summary>Seed for reproducible replies.</summary>
        public ulong Seed { get; set; } = 1;

        /// <summary>Scheduling priority (the NPC the player talks to first).</summary>
        public int Priority { get; set; }

        /// <summary>Receives text as it is generated (on the thread where the backend delivers it).</summary>
        public Action<string>? OnText { get; set; }
    }

    /// <summary>A generated reply: what the NPC says, and the tool call it made, if any.</summary>
    public sealed class GeneratedReply
    {
        /// <summary>Creates a reply.</summary>
        public GeneratedReply(string text, ToolCall? toolCall, string? rejectedToolCallJson = null)
        {
            Text = text;
            ToolCall = toolCall;
            RejectedToolCallJson = rejectedToolCallJson;
        }

        /// <summary>The spoken text (before any tool call).</summary>
        public string Text { get; }

        /// <summary>The tool call, parsed; null when none.</summary>
        public ToolCall? ToolCall { get; }

        /// <summary>A tool-call text that could not be parsed (possible only without constrained decoding).</summary>
        public string? RejectedToolCallJson { get; }
    }

    /// <summary>
    /// The one thing the agent layer needs from a language model: a reply to a conversation, with tool calls limited
    /// to the given tools. Implemented over the local runtime, an OpenAI-compatible server, or a test double.
    /// </summary>
    public interface ITextGenerator
    {
        /// <summary>Generates the next assistant message.</summary>
        Task<GeneratedReply> GenerateAsync(ReplyRequest request, CancellationToken cancellationToken = default);
    }
}
