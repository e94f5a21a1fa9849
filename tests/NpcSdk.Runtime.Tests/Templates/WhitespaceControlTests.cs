using System.Collections.Generic;
using NpcSdk.Templates;
using Xunit;

namespace NpcSdk.Tests.Templates
{
    /// <summary>Whitespace control exactly as transformers renders (trim_blocks, lstrip_blocks, '-' and '+' markers).</summary>
    public class WhitespaceControlTests
    {
        private static string Render(string template, object? xs = null)
        {
            var extra = new Dictionary<string, object?> { ["xs"] = xs };
            return ChatTemplate.Parse(template).Render(new ChatMessage[0], false, extra: extra);
        }

        [Fact]
        public void Trim_Blocks_Drops_The_Newline_After_A_Block_Tag()
        {
            Assert.Equal("a\nb\n", Render("{% for m in xs %}\n{{ m }}\n{% endfor %}", new[] { "a", "b" }));
        }

        [Fact]
        public void Lstrip_Blocks_Drops_The_Indentation_Of_A_Block_Tag_Alone_On_Its_Line()
        {
            Assert.Equal("<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>",
                Render("<ul>\n    {% for x in xs %}\n    <li>{{ x }}</li>\n    {% endfor %}\n</ul>", new[] { 1, 2 }));
        }

        [Fact]
        public void Output_Tags_Keep_Their_Indentation_And_Newline()
        {
            Assert.Equal("a\n  1\nb  \nc", Render("a\n  {{ 1 }}\n  {% if true %}b{% endif %}  \nc"));
        }

        [Fact]
        public void Minus_Strips_All_Whitespace_On_Its_Side_Including_Newlines()
        {
            Assert.Equal("xy", Render("  {%- if true %}x{% endif -%}  \n y"));
            Assert.Equal("xay", Render("x \n {{- 'a' -}} \n y"));
        }

        [Fact]
        public void A_Comment_Line_Disappears()
        {
            Assert.Equal("a\nb", Render("a\n{# c #}\nb"));
        }

        [Fact]
        public void One_Trailing_Newline_Of_The_Template_Is_Dropped()
        {
            Assert.Equal("  yes\n", Render("{% if true %}\n  yes\n{% endif %}\n"));
            Assert.Equal("x\n", Render("x\n\n"));
        }

        [Fact]
        public void Plus_Opts_Out_Of_Lstrip_And_Trim()
        {
            Assert.Equal("  \nX", Render("  {%+ if true +%}\nX{% endif %}"));
        }

        [Fact]
        public void Windows_Newlines_Render_As_Unix_Newlines()
        {
            Assert.Equal("a\nb\n", Render("{% for m in xs %}\r\n{{ m }}\r\n{% endfor %}\r\n", new[] { "a", "b" }));
        }
    }
}
