using System;
using System.Collections.Generic;

namespace NpcSdk.Templates
{
    /// <summary>One message of a conversation, as a chat template receives it (a dict with <c>role</c> and <c>content</c>).</summary>
    /// <remarks>
    /// Optional members are only present in the template's dict when set, so checks such as
    /// <c>'tool_calls' in message</c> or <c>message.name is defined</c> behave as with transformers.
    /// </remarks>
    public sealed class ChatMessage
    {
        /// <summary>Creates a message.</summary>
        /// <param name="role">Usually <c>system</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
        /// <param name="content">The text; empty for an assistant message that only calls tools.</param>
        public ChatMessage(string role, string content)
        {
            Role = role ?? throw new ArgumentNullException(nameof(role));
            Content = content ?? throw new ArgumentNullException(nameof(content));
        }

        /// <summary>The speaker's role.</summary>
        public string Role { get; }

        /// <summary>The message text.</summary>
        public string Content { get; }

        /// <summary>Tool calls of an assistant message (<c>message.tool_calls</c>); null for none.</summary>
        public IReadOnlyList<ChatToolCall>? ToolCalls { get; set; }

        /// <summary>The name of the speaker or, for a tool message, of the tool (<c>message.name</c>).</summary>
        public string? Name { get; set; }

        /// <summary>For a tool message, the id of the call it answers (<c>message.tool_call_id</c>).</summary>
        public string? ToolCallId { get; set; }
    }
}
