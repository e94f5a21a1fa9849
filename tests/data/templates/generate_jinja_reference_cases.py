#!/usr/bin/env python3
"""Regenerates jinja_reference_cases.json: small templates rendered by the reference Jinja2 (3.1.x) configured
exactly as Hugging Face transformers renders chat templates (ImmutableSandboxedEnvironment, trim_blocks=True,
lstrip_blocks=True, loopcontrols, raise_exception, transformers' tojson). The C# tests compare ChatTemplate's output
with these. Run: python3 generate_jinja_reference_cases.py (needs the jinja2 package)."""
import json, os
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": " Hi! "},
        {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}]

# (name, template, context)
CASES = [
    # text, output, comments
    ("text only", "plain text\nsecond line", {}),
    ("single trailing newline dropped", "x\n", {}),
    ("crlf normalized", "a\r\nb\rc", {}),
    ("output", "a{{ x }}b", {"x": "X"}),
    ("comment", "a{# gone #}b", {}),
    ("comment alone on a line", "a\n  {# note #}\nb", {}),
    ("raw block", "{% raw %}{{ x }}{% if %}{% endraw %}", {}),
    # whitespace control
    ("trim_blocks eats one newline", "{% if true %}\nx\n{% endif %}\ny", {}),
    ("lstrip_blocks strips indentation", "a\n    {% if true %}\n    b\n    {% endif %}\nc", {}),
    ("lstrip only when alone on the line", "a  {% if true %}b{% endif %}", {}),
    ("lstrip after a tag that ate the newline", "{% if true %}x{% endif %}   \n  {% if true %}y{% endif %}", {}),
    ("variables are not lstripped", "a\n    {{ 'b' }}\n", {}),
    ("minus strips both sides", "a   {{- 'b' -}}   c  {%- if true -%}  d  {%- endif %}", {}),
    ("minus strips newlines", "x {{- ' y ' -}} \n z", {}),
    ("plus disables lstrip and trim", "  {%+ if true +%}\nX{% endif %}", {}),
    ("output keeps its newline", "{{ 'a' }}\n{{ 'b' }}\n", {}),
    ("block ladder", "{%- for m in messages %}\n    {%- if m.role == 'user' %}\n        {{- '[' + m.content + ']' }}\n    {%- else %}\n        {{- m.role }}\n    {%- endif %}\n{%- endfor %}\n", {"messages": MSGS}),
    # literals and expressions
    ("none and bools print", "{{ none }}|{{ true }}|{{ false }}|{{ True }}|{{ None }}", {}),
    ("numbers", "{{ 1 + 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 * 3 - 1 }} {{ -4 }} {{ 1.5 + 1 }} {{ 10 / 4 }} {{ 2 ** 10 }}", {}),
    ("float repr", "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.0e-5 }} {{ 0.0001 }} {{ 100000000000000000.0 }} {{ 1234567890123456.0 }} {{ 3 / 3 }} {{ 2.5e-7 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ not 1 == 2 }} {{ 'a' ~ 2 * 3 }} {{ -2 ** 2 }}", {}),
    ("string escapes", "{{ 'a\\nb\\t\"c\"' }}|{{ \"it's\" }}|{{ '\\u00e9\\x41\\'' }}", {}),
    ("adjacent strings", "{{ 'a' 'b' \"c\" }}", {}),
    ("comparisons", "{{ 1 < 2 }}{{ 2 <= 1 }}{{ 'a' == 'a' }}{{ 'a' != 'a' }}{{ 3 > 2 }}{{ 1 >= 1 }}{{ 1 == 1.0 }}{{ 'b' > 'a' }}{{ [1, 2] < [1, 3] }}", {}),
    ("chained comparison", "{{ 1 < 2 < 3 }}{{ 1 < 3 < 2 }}", {}),
    ("logic returns operands", "{{ true and false }}{{ true or false }}{{ not true }}{{ 0 or 'x' }}{{ '' and 'y' }}|{{ none or [] }}", {}),
    ("in and not in", "{{ 'b' in 'abc' }}{{ 2 in [1, 2] }}{{ 'k' in d }}{{ 'q' not in d }}{{ not 'k' in d }}", {"d": {"k": 1}}),
    ("conditional expression", "{{ 'yes' if flag else 'no' }}|{{ 'a' if false }}|{{ 'x' if none is none else 'y' }}", {"flag": True}),
    ("tilde concatenation", "{{ 'n=' ~ 3 ~ true ~ none ~ missing }}", {}),
    ("list and dict literals", "{{ [1, 'a', none, true, 1.5] }}{{ {'k': 1, 'j': [2]} }}{{ (1, 2) }}{{ (1,) }}{{ () }}", {}),
    ("list and string arithmetic", "{{ [1] + [2] }} {{ 'ab' * 2 }} {{ [0] * 3 }}", {}),
    ("percent formatting", "{{ '%s-%d' % ('a', 3) }} {{ '%s!' % 'x' }}", {}),
    # access
    ("item and attribute access", "{{ d['k'] }}{{ d.k }}{{ xs[0] }}{{ xs[-1] }}{{ xs.1 }}{{ messages[0]['role'] }}{{ messages[1].content }}", {"d": {"k": "v"}, "xs": [1, 2, 3], "messages": MSGS}),
    ("missing key is undefined", "[{{ d.missing }}][{{ d['missing'] }}][{{ xs[10] }}]{{ d.missing is defined }}", {"d": {"k": 1}, "xs": [1]}),
    ("attribute of a string is undefined", "{{ 'abc'.content is defined }}", {}),
    ("slices", "{{ xs[1:] }}{{ xs[:2] }}{{ xs[::-1] }}{{ xs[::2] }}{{ xs[1::2] }}{{ xs[-1:0:-1] }}{{ xs[:-2:-1] }}{{ 'hello'[1:3] }}{{ 'abc'[::-1] }}", {"xs": [1, 2, 3, 4, 5]}),
    ("dict methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.keys() | list }}{{ d.values() | list }}{{ d.get('a') }}{{ d.get('z', 'dflt') }}{{ d.get('z') }}", {"d": {"b": 1, "a": 2}}),
    ("string methods", "{{ ' x '.strip() }}|{{ ' x '.lstrip() }}|{{ ' x '.rstrip() }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('x') }}{{ 'abc'.startswith(('x', 'a')) }}|{{ 'ab'.upper() }}{{ 'AB'.lower() }}|{{ 'hello world-x'.title() }}|{{ 'aBc'.capitalize() }}|{{ 'a-b-c'.replace('-', '+') }}|{{ 'a-b-c'.replace('-', '+', 1) }}", {}),
    ("strip characters", "[{{ '\\n\\nx\\n'.strip('\\n') }}][{{ 'xxay'.lstrip('x') }}][{{ 'ayyx'.rstrip('xy') }}][{{ ' a '.strip(none) }}]", {}),
    ("split", "{{ 'a<b>c<b>'.split('<b>') }}{{ ' a  b '.split() }}{{ 'x'.split(',') }}{{ 'r</think>a'.split('</think>')[-1] }}{{ 'a,b,c'.split(',', 1) }}{{ 'a,b,c'.rsplit(',', 1) }}", {}),
    ("find and count", "{{ 'abcabc'.find('c') }}{{ 'abc'.find('z') }}{{ 'abcabc'.rfind('a') }}{{ 'abcabc'.count('bc') }}", {}),
    ("join method", "{{ ', '.join(['a', 'b']) }}", {}),
    ("unicode length and slices", "{{ 'héllo' | length }} {{ 'héllo'[1] }} {{ 'naïve'[::-1] }}", {}),
    # filters
    ("filters basic", "{{ '  x  ' | trim }}|{{ xs | length }}|{{ 'Ab' | upper }}{{ 'Ab' | lower }}|{{ xs | join('-') }}|{{ xs | join }}|{{ xs | first }}{{ xs | last }}|{{ missing | default('d') }}|{{ '' | default('e', true) }}|{{ 5 | string }}|{{ xs | count }}", {"xs": [1, 2, 3]}),
    ("filter binds tighter than plus", "{{ 'a' + ' b ' | trim + 'c' }}", {}),
    ("filter chain", "{{ 'abc' | upper | length }}", {}),
    ("trim with chars", "{{ 'xxhixx' | trim('x') }}", {}),
    ("replace filter", "{{ 'aaa' | replace('a', 'b') }}{{ 'aaa' | replace('a', 'b', 2) }}", {}),
    ("list sort reverse unique", "{{ [3, 1, 2] | sort }}{{ [3, 1, 2] | sort(reverse=true) }}{{ ['b', 'A', 'c'] | sort }}{{ [1, 2, 3] | reverse | list }}{{ 'abc' | reverse }}{{ [1, 2, 1, 3] | unique | list }}", {}),
    ("sort by attribute", "{{ items | sort(attribute='n') | map(attribute='n') | list }}", {"items": [{"n": 3}, {"n": 1}, {"n": 2}]}),
    ("min max sum", "{{ [3, 1, 2] | min }}{{ [3, 1, 2] | max }}{{ [1, 2, 3] | sum }}{{ items | sum(attribute='n') }}", {"items": [{"n": 3}, {"n": 1}]}),
    ("items and dictsort", "{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(by='value') }}", {"d": {"b": 1, "a": 2}}),
    ("map", "{{ ['a', 'b'] | map('upper') | join }}{{ [1, 2] | map('string') | join(',') }}{{ msgs | map(attribute='role') | join(',') }}", {"msgs": MSGS}),
    ("select reject", "{{ [1, 2, 3, 4] | select('odd') | list }}{{ [1, 2, 3, 4] | reject('odd') | list }}{{ [0, 1, '', 'a'] | select | list }}", {}),
    ("selectattr rejectattr", "{{ msgs | selectattr('role', 'equalto', 'user') | list | length }} {{ (msgs | selectattr('role', 'equalto', 'user') | list)[-1].content }} {{ msgs | rejectattr('role', 'in', ['user', 'system']) | map(attribute='content') | join }}", {"msgs": MSGS}),
    ("selectattr truthy and defined", "{% for i in items | selectattr('on') %}{{ i.n }}{% endfor %}|{% for i in items | selectattr('on', 'defined') %}{{ i.n }}{% endfor %}", {"items": [{"n": 1, "on": True}, {"n": 2, "on": False}, {"n": 3}]}),
    ("indent", "{{ 'a\\nb' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb\\n' | indent(2) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}|{{ 'x\\ny' | indent('> ') }}", {}),
    ("title and capitalize filters", "{{ 'hello wORLD (x)-y' | title }}|{{ 'hELLO' | capitalize }}", {}),
    ("int and float filters", "{{ '3' | int + 1 }} {{ '3.7' | int }} {{ 'x' | int }} {{ 'x' | int(5) }} {{ 7 | float }} {{ '2.5' | float }} {{ 3.9 | int }}", {}),
    ("round abs", "{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ -3 | abs }}", {}),
    ("wordcount center", "{{ 'a b  c' | wordcount }}[{{ 'ab' | center(6) }}]", {}),
    ("escape", "{{ '<a href=\"x\">&\\'</a>' | e }}", {}),
    ("format filter", "{{ '%s and %s' | format('a', 'b') }}", {}),
    ("attr filter", "{{ d | attr('k') }}|{{ d | attr('items') is defined }}", {"d": {"k": 1}}),
    ("list of a string and a dict", "{{ 'ab' | list }}{{ {'a': 1} | list }}", {}),
    ("first and last of empty", "[{{ [] | first }}][{{ [] | last }}]", {}),
    # tojson
    ("tojson", "{{ {'a': [1, 'x', none, true, 1.5], 'b': {}} | tojson }}", {}),
    ("tojson keeps key order and unicode", "{{ d | tojson }}", {"d": {"z": "é\"\n\\", "a": [], "emoji": "🙂"}}),
    ("tojson indented", "{{ {'b': [1, {'c': 'x'}], 'a': {}, 'e': []} | tojson(indent=4) }}", {}),
    ("tojson indent 2 sort keys", "{{ d | tojson(indent=2, sort_keys=true) }}", {"d": {"b": 1, "a": [True, None]}}),
    ("tojson ensure_ascii and separators", "{{ d | tojson(ensure_ascii=true) }}|{{ d | tojson(separators=(',', ':')) }}", {"d": {"k": "é", "n": [1, 2]}}),
    ("tojson of strings numbers", "{{ 'x' | tojson }}{{ 3 | tojson }}{{ 2.0 | tojson }}{{ none | tojson }}{{ [] | tojson }}", {}),
    # tests
    ("tests", "{{ x is defined }}{{ y is defined }}{{ y is not defined }}{{ y is undefined }}{{ n is none }}{{ s is string }}{{ 1 is string }}{{ d is mapping }}{{ xs is mapping }}{{ xs is iterable }}{{ s is iterable }}{{ 1 is number }}{{ 1 is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ xs is sequence }}", {"x": 1, "n": None, "s": "s", "d": {}, "xs": []}),
    ("tests with arguments", "{{ 6 is divisibleby 3 }}{{ 2 is even }}{{ 3 is odd }}{{ true is sameas true }}{{ 1 is equalto 1 }}{{ 'a' is eq 'a' }}{{ 3 is gt 2 }}{{ 'b' is in 'abc' }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ 'x' is ne 'y' }}", {}),
    ("test of none and false", "{{ none is none }}{{ false is none }}{{ false is false }}{{ 0 is false }}{{ true is true }}", {}),
    ("not binds looser than is", "{{ not x is defined }}{{ not x is none }}", {"x": None}),
    # statements
    ("if elif else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %},{% endfor %}", {}),
    ("for loop variables", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }};{% endfor %}", {"items": ["a", "b", "c"]}),
    ("loop previtem nextitem cycle", "{% for x in 'abc' %}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('o', 'e') }}|{% endfor %}", {}),
    ("loop changed", "{% for x in [1, 1, 2, 2, 3] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}", {}),
    ("for else", "{% for x in [] %}x{% else %}empty{% endfor %}{% for x in [1] %}x{% else %}empty{% endfor %}", {}),
    ("for with a condition", "{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", {}),
    ("for over dict items with a condition", "{% for k, v in d.items() if k != 'b' %}{{ k }}={{ v }};{% endfor %}", {"d": {"a": 1, "b": 2, "c": 3}}),
    ("for over a dict gives keys", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("for over undefined is empty", "[{% for x in missing %}{{ x }}{% endfor %}]", {}),
    ("break continue", "{% for n in [1, 2, 3, 4] %}{% if n == 2 %}{% continue %}{% endif %}{% if n == 4 %}{% break %}{% endif %}{{ n }}{% endfor %}", {}),
    ("nested loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}/{{ loop.index }} {% endfor %}", {}),
    ("set at top level and in if", "{% set a = 1 %}{% if true %}{% set b = a + 1 %}{% endif %}{{ a }}{{ b }}", {}),
    ("set in a loop does not leak", "{% set c = 0 %}{% for i in [1, 2] %}{% set c = c + 1 %}{{ c }}{% endfor %}{{ c }}", {}),
    ("set in a loop is per iteration", "{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}[{{ x }}]", {}),
    ("set shadows a context variable", "{% set messages = messages[1:] %}{{ messages | length }}", {"messages": MSGS}),
    ("set tuple unpack", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c, d = [3, 4] %}{{ c }}{{ d }}", {}),
    ("set block", "{% set x %}  hi {{ 1 }} {% endset %}[{{ x }}]", {}),
    ("set block with filter", "{% set x | upper %}hi{% endset %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(total=0, seen=false) %}{% for x in [1, 2, 3] %}{% set ns.total = ns.total + x %}{% if x == 2 %}{% set ns.seen = true %}{% endif %}{% endfor %}{{ ns.total }} {{ ns.seen }}", {}),
    ("namespace attribute added later", "{% set ns = namespace() %}{% set ns.a = 'x' %}{{ ns.a }}{{ ns.b is defined }}", {}),
    ("namespace from a dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}", {}),
    ("range", "{% for i in range(3) %}{{ i }}{% endfor %}{{ range(1, 8, 3) | list }}{{ range(3, -1, -1) | list }}{{ range(0, 3, -1) | list }}", {}),
    ("dict global", "{{ dict(a=1, b='x') }}", {}),
    ("macro", "{% macro f(a, b='B') %}[{{ a }}{{ b }}{{ names }}]{% endmacro %}{% set names = 'N' %}{{ f(1) }}{{ f(1, b=2) }}{{ f(a=3) }}", {}),
    ("macro whitespace", "{%- macro line(x) %}\n    {{- '<' + x + '>' }}\n{%- endmacro %}\n{{- line('a') }}\n{{ line('b') }}\n", {}),
    ("macro recursion", "{% macro count(n) %}{{ n }}{% if n > 0 %}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(3) }}", {}),
    ("filter block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}", {}),
    ("with block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    ("undefined prints nothing", "[{{ missing }}][{{ missing | length }}][{{ missing ~ 'a' }}][{{ missing | string }}][{{ missing | trim }}]{{ not missing }}", {}),
    ("undefined equality", "{{ missing == none }}{{ missing == missing2 }}{{ missing != 'x' }}", {}),
    ("undefined in containers", "{{ 'a' in missing }}{{ missing is iterable }}", {}),
    ("python method on list", "{{ xs.index(2) }}{{ xs.count(1) }}", {"xs": [1, 2, 1]}),
    ("str.format", "{{ '{} and {}'.format('a', 'b') }}|{{ '{x}!'.format(x=1) }}", {}),
    ("is string on content", "{% for m in messages %}{% if m.content is string %}{{ m.content | trim }};{% endif %}{% endfor %}", {"messages": MSGS}),
    ("message dict repr", "{{ messages[0] }}", {"messages": MSGS}),
    ("generation prompt flag", "{% if add_generation_prompt %}GEN{% endif %}|{{ tools is none }}{{ tools is defined }}{{ documents is none }}", {}),
    ("loop over messages with namespace like qwen3", "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}{%- if ns.multi_step_tool and message.role == 'user' %}{%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}{%- endif %}{%- endfor %}{{ ns.last_query_index }}", {"messages": MSGS}),
]

# Templates that must fail: (name, template, context, raised_by_template)
ERRORS = [
    ("raise_exception", "{{ raise_exception('Roles must alternate') }}", {}, True),
    ("raise_exception in a branch", "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% endfor %}", {"messages": MSGS}, True),
    ("attribute of undefined", "{{ foo.bar }}", {}, False),
    ("item of undefined", "{{ foo['bar'] }}", {}, False),
    ("undefined plus string", "{{ x + 'a' }}", {}, False),
    ("int plus string", "{{ 1 + 'a' }}", {}, False),
    ("none plus string", "{{ none + 'a' }}", {}, False),
    ("set attribute of a dict", "{% set d = {'a': 1} %}{% set d.a = 2 %}", {}, False),
    ("in none", "{{ 'a' in none }}", {}, False),
    ("tojson of undefined", "{{ missing | tojson }}", {}, False),
    ("division by zero", "{{ 1 / 0 }}", {}, False),
    ("unknown filter", "{{ 'a' | no_such_filter }}", {}, False),
    ("unknown test", "{{ 'a' is no_such_test }}", {}, False),
    ("calling a string", "{{ 'a'() }}", {}, False),
    ("unclosed block", "{% if true %}x", {}, False),
    ("unclosed variable", "{{ x ", {}, False),
    ("unknown tag", "{% frobnicate %}", {}, False),
    ("endfor without for", "{% endfor %}", {}, False),
    ("bad expression", "{{ 1 + }}", {}, False),
    ("unterminated string", "{{ 'abc }}", {}, False),
    ("list append is unsafe", "{% set xs = [] %}{{ xs.append(1) }}", {}, False),
]

def render(template, context):
    base = dict(messages=[], tools=None, documents=None, add_generation_prompt=False, bos_token="", eos_token="")
    base.update(context)
    return env.from_string(template).render(**base)

out = {"generator": "generate_jinja_reference_cases.py with jinja2 " + jinja2.__version__,
       "note": "expected = the reference Jinja2's output under transformers' settings; context replaces the defaults messages=[], tools=None, documents=None, add_generation_prompt=False, bos_token='', eos_token=''",
       "cases": [], "errors": []}
for name, template, context in CASES:
    try:
        expected = render(template, context)
    except Exception as e:
        raise SystemExit("case %r failed in Jinja2: %s" % (name, e))
    out["cases"].append({"name": name, "template": template, "context": context, "expected": expected})
for name, template, context, raised in ERRORS:
    try:
        result = render(template, context)
    except jinja2.exceptions.TemplateSyntaxError as e:
        out["errors"].append({"name": name, "template": template, "context": context, "raised_by_template": False, "jinja_error": "TemplateSyntaxError: %s" % e})
        continue
    except Exception as e:
        is_raise = type(e) is jinja2.exceptions.TemplateError
        assert is_raise == raised, (name, e)
        out["errors"].append({"name": name, "template": template, "context": context, "raised_by_template": raised, "jinja_error": "%s: %s" % (type(e).__name__, e)})
        continue
    raise SystemExit("expected an error from " + name + ", got " + repr(result))

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "jinja_reference_cases.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
print(len(out["cases"]), "cases,", len(out["errors"]), "error cases")
