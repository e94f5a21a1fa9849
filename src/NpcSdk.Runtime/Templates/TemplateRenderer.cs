using System;
using System.Collections.Generic;
using System.Text;

namespace NpcSdk.Templates
{
    /// <summary>Variables visible at one level: the globals, the render context, the template's top level, a loop iteration, a macro call.</summary>
    internal sealed class Scope
    {
        private readonly Scope? _parent;
        private readonly Dictionary<string, object?> _vars = new Dictionary<string, object?>(StringComparer.Ordinal);

        public Scope(Scope? parent) => _parent = parent;

        public bool TryLookup(string name, out object? value)
        {
            for (Scope? s = this; s != null; s = s._parent)
            {
                if (s._vars.TryGetValue(name, out value)) return true;
            }
            value = null;
            return false;
        }

        public void Set(string name, object? value) => _vars[name] = value;
    }

    /// <summary>One rendering: turns errors into <see cref="ChatTemplateException"/> with positions, and bounds runaway templates.</summary>
    internal sealed class TemplateRenderer
    {
        /// <summary>Deepest macro recursion allowed, so a self-calling macro fails instead of overflowing the stack.</summary>
        private const int MaxCallDepth = 64;

        /// <summary>Largest output allowed, so a template from an untrusted GGUF cannot exhaust memory.</summary>
        private const int MaxOutputChars = 64 * 1024 * 1024;

        private readonly SourceMap _map;
        private int _callDepth;

        public TemplateRenderer(SourceMap map) => _map = map;

        public ChatTemplateException Locate(TemplateError error, int offset, Exception? inner = null)
        {
            var (line, column) = _map.Locate(offset);
            return new ChatTemplateException(error.Message, line, column, error is TemplateRaisedError, inner ?? error);
        }

        public void EnterCall(string name)
        {
            if (++_callDepth > MaxCallDepth)
            {
                _callDepth--;
                throw new TemplateError($"macro '{name}' nested deeper than {MaxCallDepth} calls");
            }
        }

        public void ExitCall() => _callDepth--;

        public void CheckOutput(StringBuilder output)
        {
            if (output.Length > MaxOutputChars) throw new TemplateError($"rendered text exceeds {MaxOutputChars} characters");
        }

        public string Render(List<Node> body, Scope globals)
        {
            var output = new StringBuilder();
            var top = new Scope(globals);
            Flow flow = Node.RenderAll(body, this, top, output);
            if (flow != Flow.Normal) throw new ChatTemplateException("'break' or 'continue' outside a loop", 0, 0, false);
            return output.ToString();
        }
    }
}
