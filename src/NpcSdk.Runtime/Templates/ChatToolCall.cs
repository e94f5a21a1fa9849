using System;

namespace NpcSdk.Templates
{
    /// <summary>A tool (function) call made by the assistant, as a chat template receives it.</summary>
    /// <remarks>
    /// Templates see it in the OpenAI/transformers shape <c>{"id": ..., "type": "function", "function": {"name": ...,
    /// "arguments": {...}}}</c>, with the arguments parsed from <see cref="ArgumentsJson"/> into an object (templates
    /// print them with <c>| tojson</c>); arguments that are not valid JSON are passed as the raw string.
    /// </remarks>
    public sealed class ChatToolCall
    {
        /// <summary>Creates a tool call.</summary>
        public ChatToolCall(string name, string argumentsJson)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            ArgumentsJson = argumentsJson ?? throw new ArgumentNullException(nameof(argumentsJson));
        }

        /// <summary>The function's name, e.g. <c>sell_item</c>.</summary>
        public string Name { get; }

        /// <summary>The arguments as a JSON object, e.g. <c>{"item": "iron sword", "price": 12}</c>.</summary>
        public string ArgumentsJson { get; }

        /// <summary>The call id some templates print or check (Mistral wants 9 alphanumeric characters); omitted when null.</summary>
        public string? Id { get; set; }
    }
}
