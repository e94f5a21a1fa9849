using System;
using NpcSdk.Templates;
using Xunit;

namespace NpcSdk.Tests.Templates
{
    /// <summary>Failures are typed <see cref="ChatTemplateException"/>s that name the line and column.</summary>
    public class ChatTemplateErrorTests
    {
        private static ChatTemplateException RenderFails(string template) =>
            Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(template).Render(new[] { new ChatMessage("user", "hi") }, true));

        [Fact]
        public void Syntax_Error_Names_Line_And_Column()
        {
            var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% if x %}\n  {{ 1 + }}\n{% endif %}"));

            Assert.False(e.RaisedByTemplate);
            Assert.Equal(2, e.Line);
            Assert.Equal(10, e.Column);
            Assert.StartsWith("chat template line 2, column 10: ", e.Message);
        }

        [Fact]
        public void Unclosed_Block_Is_A_Syntax_Error()
        {
            var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% for m in messages %}{{ m }}"));

            Assert.Contains("expected 'endfor' or 'else'", e.Message);
        }

        [Fact]
        public void Unknown_Tag_Is_A_Syntax_Error()
        {
            var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("ok\n{% include 'x' %}"));

            Assert.Equal(2, e.Line);
            Assert.Equal(4, e.Column);
            Assert.Contains("unknown tag 'include'", e.Message);
        }

        [Fact]
        public void Runtime_Type_Error_Names_The_Operator()
        {
            var e = RenderFails("{{ 'a' }}\n{{ 1 + 'x' }}");

            Assert.False(e.RaisedByTemplate);
            Assert.Equal(2, e.Line);
            Assert.Equal(6, e.Column);
            Assert.Contains("unsupported operand type(s) for +: 'int' and 'str'", e.Message);
        }

        [Fact]
        public void Attribute_Of_Undefined_Raises_As_Jinja_Does()
        {
            var e = RenderFails("{{ foo.bar }}");

            Assert.Contains("'foo' is undefined", e.Message);
        }

        [Fact]
        public void Raise_Exception_Carries_The_Templates_Message()
        {
            var e = RenderFails("{% if messages[0].role == 'user' %}\n    {{- raise_exception('No users here') }}\n{% endif %}");

            Assert.True(e.RaisedByTemplate);
            Assert.Equal("No users here", e.TemplateMessage);
            Assert.Equal(2, e.Line);
            Assert.Equal(9, e.Column);
        }

        [Fact]
        public void Runaway_Recursion_Fails_Cleanly()
        {
            var e = RenderFails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");

            Assert.Contains("nested deeper than", e.Message);
        }

        [Fact]
        public void Huge_Range_Fails_Cleanly()
        {
            var e = RenderFails("{% for i in range(100000000) %}{% endfor %}");

            Assert.Contains("range too big", e.Message);
        }

        [Theory]
        [InlineData("(", ")")]
        [InlineData("not ", "")]
        [InlineData("- ", "")]
        [InlineData("x + ", "")]
        [InlineData("x ~ ", "")]
        [InlineData("x | trim | ", "")]
        public void Hostile_Nesting_Fails_With_An_Exception_Not_A_Stack_Overflow(string open, string close)
        {
            var sb = new System.Text.StringBuilder("{{ ");
            for (int i = 0; i < 100_000; i++) sb.Append(open);
            sb.Append(close.Length > 0 ? "1" : "x");
            for (int i = 0; i < 100_000; i++) sb.Append(close);
            sb.Append(" }}");

            var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(sb.ToString()));

            Assert.Contains("nested deeper than", e.Message);
        }

        [Fact]
        public void Deeply_Nested_Blocks_Fail_With_An_Exception()
        {
            var sb = new System.Text.StringBuilder();
            for (int i = 0; i < 10_000; i++) sb.Append("{% if true %}");
            for (int i = 0; i < 10_000; i++) sb.Append("{% endif %}");

            Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(sb.ToString()));
        }

        [Fact]
        public void Null_Arguments_Are_Rejected()
        {
            Assert.Throws<ArgumentNullException>(() => ChatTemplate.Parse(null!));
            Assert.Throws<ArgumentNullException>(() => ChatTemplate.ChatMl.Render(null!, true));
        }
    }
}
