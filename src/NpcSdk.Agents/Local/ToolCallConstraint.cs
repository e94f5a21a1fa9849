using System.Collections.Generic;
using System.Linq;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Grammars;
using NpcSdk.Sampling;
using NpcSdk.Tokenization;

namespace NpcSdk.Agents.Local
{
    /// <summary>
    /// Constrains the tokens between <c>&lt;tool_call&gt;</c> and <c>&lt;/tool_call&gt;</c> to a call of a granted tool
    /// with arguments matching its schema; speech before it is free. Grammars are cached per tool set, so their token
    /// masks are computed once and reused by every reply with the same tools.
    /// </summary>
    internal sealed class ToolCallConstraint
    {
        private const int MaxCachedGrammars = 64;
        private readonly Dictionary<string, Grammar> _grammars = new Dictionary<string, Grammar>();
        private readonly object _gate = new object();

        /// <summary>A sampler for one reply, or null when the model has no tool-call tokens or no tool is granted.</summary>
        public ISampler? Create(GgufTokenizer tokenizer, IReadOnlyList<ToolSpec> tools, int startToken, int endToken, int keepTop)
        {
            if (tools.Count == 0 || startToken < 0 || endToken < 0) return null;
            string key = string.Join("\n", tools.Select(t => t.Name + "\t" + t.ParametersSchemaJson));
            Grammar grammar;
            lock (_gate)
            {
                if (!_grammars.TryGetValue(key, out grammar!))
                {
                    if (_grammars.Count >= MaxCachedGrammars) _grammars.Clear();
                    grammar = Grammar.ToolCall(tools.Select(t => new ToolSchema(t.Name, t.ParametersSchemaJson)));
                    _grammars[key] = grammar;
                }
            }
            return new GrammarSampler(grammar, tokenizer, endToken, startToken) { KeepTop = keepTop };
        }
    }
}
