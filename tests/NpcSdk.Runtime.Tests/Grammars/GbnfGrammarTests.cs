using System;
using System.Text;
using NpcSdk.Grammars;
using Xunit;

namespace NpcSdk.Tests.Grammar
{
    using Grammar = NpcSdk.Grammars.Grammar;

    public sealed class GbnfGrammarTests
    {
        [Fact]
        public void Literals_Alternatives_And_Groups_Match_Exactly()
        {
            var g = Grammar.Parse("root ::= \"yes\" | \"no\" | (\"may\" \"be\")");
            Assert.True(g.Matches("yes"));
            Assert.True(g.Matches("no"));
            Assert.True(g.Matches("maybe"));
            Assert.False(g.Matches("ye"));
            Assert.False(g.Matches("yess"));
            Assert.False(g.Matches(""));
        }

        [Fact]
        public void Repetition_Operators_Count_Correctly()
        {
            var star = Grammar.Parse("root ::= \"a\"*");
            Assert.True(star.Matches(""));
            Assert.True(star.Matches("aaaa"));
            var plus = Grammar.Parse("root ::= \"a\"+ \"b\"?");
            Assert.False(plus.Matches(""));
            Assert.True(plus.Matches("a"));
            Assert.True(plus.Matches("aaab"));
            Assert.False(plus.Matches("aabb"));
            var bounded = Grammar.Parse("root ::= [0-9]{2,4} x{3}\nx ::= \"-\"");
            Assert.False(bounded.Matches("1---"));
            Assert.True(bounded.Matches("12---"));
            Assert.True(bounded.Matches("1234---"));
            Assert.False(bounded.Matches("12345---"));
            Assert.False(bounded.Matches("12--"));
            var atLeast = Grammar.Parse("root ::= \"ab\"{2,}");
            Assert.False(atLeast.Matches("ab"));
            Assert.True(atLeast.Matches("ababab"));
        }

        [Fact]
        public void Rules_Can_Recurse_And_Span_Lines()
        {
            var g = Grammar.Parse(@"
# balanced parentheses
root  ::= item*
item  ::= ""("" root "")""
        | ""x""
");
            Assert.True(g.Matches("(x(x))x"));
            Assert.True(g.Matches("((()))"));
            Assert.False(g.Matches("(()"));
            Assert.False(g.Matches("())"));
        }

        [Fact]
        public void Character_Classes_Are_Unicode_And_Match_Split_UTF8()
        {
            var g = Grammar.Parse("root ::= [^\"\\\\]* \"!\"");
            Assert.True(g.Matches("héllo wörld ✓ 🙂!"));
            Assert.False(g.Matches("a\"b!"));
            var greek = Grammar.Parse("root ::= [α-ω]+");
            Assert.True(greek.Matches("λόγος".Replace("ό", "ο")));
            Assert.False(greek.Matches("abc"));

            // A two-byte and a four-byte character fed one byte at a time, as tokens split them.
            var m = g.CreateMatcher();
            foreach (byte b in Encoding.UTF8.GetBytes("é🙂")) Assert.True(m.Accept(b));
            Assert.False(m.IsComplete);
            Assert.True(m.Accept((byte)'!'));
            Assert.True(m.IsComplete);
        }

        [Fact]
        public void Invalid_UTF8_Is_Rejected_Inside_Classes()
        {
            var g = Grammar.Parse("root ::= .*");
            var m = g.CreateMatcher();
            Assert.False(m.Accept(0x80));             // a lone continuation byte
            Assert.False(m.Accept(0xC0));             // overlong lead byte
            Assert.True(m.Accept(0xE2));
            Assert.False(m.Accept((byte)'a'));        // lead byte not followed by a continuation
            Assert.False(m.IsComplete);               // mid-character is not complete
            Assert.False(g.CreateMatcher().Accept(new byte[] { 0xED, 0xA0, 0x80 })); // a surrogate, not UTF-8
        }

        [Fact]
        public void Escapes_In_Literals_And_Classes()
        {
            var g = Grammar.Parse("root ::= \"\\\"\\n\\t\\x41\\u00e9\" [\\]\\-]");
            Assert.True(g.Matches("\"\n\tAé]"));
            Assert.True(g.Matches("\"\n\tAé-"));
        }

        [Fact]
        public void ToString_Parses_Back_To_The_Same_Language()
        {
            var g = Grammar.Parse("root ::= (\"a\" | [b-d]+)? x{1,3} \"\\\"é\"\nx ::= [^\\n] | \"\\\\\"");
            var again = Grammar.Parse(g.ToString());
            foreach (string s in new[] { "x\"é", "abx\"é", "bbbxyz\"é", "\\\"é", "a\"é", "bbbb\"é", "xxxx\"é" })
                Assert.Equal(g.Matches(s), again.Matches(s));
        }

        [Theory]
        [InlineData("root ::= foo", "undefined rule 'foo'")]
        [InlineData("root ::= \"a\"\nroot ::= \"b\"", "defined twice")]
        [InlineData("root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"", "left-recursive")]
        [InlineData("root ::= \"a\" root", "matches no finite text")]
        [InlineData("root ::= \"abc", "line 1, column 14: unterminated string literal")]
        [InlineData("root ::= \"a\"\n  [z-a]", "line 2, column 7: character range")]
        [InlineData("root ::= (\"a\"", "expected ')'")]
        [InlineData("root = \"a\"", "expected '::='")]
        [InlineData("start ::= \"a\"", "no start rule 'root'")]
        public void Errors_Name_The_Rule_Or_Position(string gbnf, string message)
        {
            var e = Assert.Throws<GrammarFormatException>(() => Grammar.Parse(gbnf));
            Assert.Contains(message, e.Message);
        }
    }
}
