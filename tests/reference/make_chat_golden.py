#!/usr/bin/env python3
"""Renders the committed chat templates (tests/data/chat_templates/*.json) with transformers' own
apply_chat_template renderer and writes the prompts to tests/data/chat_golden/chat_templates.json, which the C++
test (tests/test_chat_golden.cpp) compares byte for byte with ours.

Run once when a template or a conversation changes (the test command does not need transformers):
    python3 -m pip install transformers jinja2      # no torch needed: nothing is tokenized
    python3 tests/reference/make_chat_golden.py

A template that refuses a conversation (raise_exception, e.g. Gemma's "System role not supported") is recorded
with its error message instead of a prompt: ours must refuse it too.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TEMPLATES = os.path.join(ROOT, "tests", "data", "chat_templates")
OUT = os.path.join(ROOT, "tests", "data", "chat_golden", "chat_templates.json")

CONVERSATIONS = {
    "user": [{"role": "user", "content": "Hello!"}],
    "system_user": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2 + 2?"},
    ],
    "multi_turn": [
        {"role": "system", "content": "You are a pirate.\nAnswer briefly."},
        {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": "   Captain Ternary, at your service.  "},
        {"role": "user", "content": "Where is the treasure?"},
    ],
    "no_system_turns": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello, traveller."},
        {"role": "user", "content": "Tell me a \"story\" about 'quotes' & <tags>."},
    ],
    "unicode": [
        {"role": "user", "content": "  Grüß dich! 你好 — ça va? 🙂\n\n"},
    ],
    "ends_with_assistant": [
        {"role": "user", "content": "Say yes."},
        {"role": "assistant", "content": "Yes."},
    ],
}

# Extra variables for some templates: a fixed date for Llama 3.x (3.2 would otherwise print today's date), and a
# tool-calling conversation for the templates that support tools.
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
TOOL_CONVERSATION = [
    {"role": "system", "content": "You can check the weather."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"id": "call00001", "type": "function",
                                          "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
    {"role": "tool", "tool_call_id": "call00001", "content": "{\"temp_c\": 21.5}"},
]
EXTRA_CASES = [
    ("llama-3.1-8b-instruct", "tools", TOOL_CONVERSATION[:2], {"tools": [WEATHER_TOOL], "date_string": "05 Dec 2026"}),
    ("llama-3.1-8b-instruct", "tools_in_system", TOOL_CONVERSATION[:2],
     {"tools": [WEATHER_TOOL], "tools_in_user_message": False, "date_string": "05 Dec 2026"}),
    ("llama-3.1-8b-instruct", "tool_call", TOOL_CONVERSATION, {"date_string": "05 Dec 2026"}),
    ("llama-3.1-8b-instruct", "builtin_tools", TOOL_CONVERSATION[:2],
     {"builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"], "date_string": "05 Dec 2026"}),
    ("qwen2.5-3b-instruct", "tools", TOOL_CONVERSATION[:2], {"tools": [WEATHER_TOOL]}),
    ("qwen2.5-3b-instruct", "tool_call", TOOL_CONVERSATION, {}),
    ("mistral-7b-instruct-v0.3", "tools", TOOL_CONVERSATION[1:2], {"tools": [WEATHER_TOOL]}),
    ("mistral-nemo-instruct-2407", "tools", TOOL_CONVERSATION[1:2], {"tools": [WEATHER_TOOL]}),
]
DATED = {"llama-3.1-8b-instruct", "llama-3.2-3b-instruct"}

# Small templates, one feature each, rendered with the same environment: the semantics beyond what the real
# templates happen to use (whitespace control, loop variables, filters, tests, Python value printing, errors).
SNIPPET_MESSAGES = [
    {"role": "system", "content": "Sys"},
    {"role": "user", "content": "  Hi there  ", "name": "ann", "n": 3, "score": 2.5, "flag": True, "tags": ["a", "b"],
     "meta": {"k": "v", "z": None}},
    {"role": "assistant", "content": "Hello"},
]
SNIPPETS = [
    "{{ messages[0].content }}|{{ messages[-1]['content'] }}|{{ messages[9] }}|{{ messages | length }}",
    "{% for m in messages %}{{ loop.index0 }}{{ loop.index }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }},{% endfor %}",
    "{% for m in messages %}[{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.role if loop.nextitem is defined else '-' }}]{% endfor %}",
    "{% for m in messages[1:] %}{{ m.role }}{% endfor %}|{% for m in messages[:-1] %}{{ m.role }}{% endfor %}|{% for m in messages[::-1] %}{{ m.role }}{% endfor %}|{{ 'abcdef'[1:4] }}{{ 'abcdef'[::2] }}{{ 'abcdef'[-2:] }}",
    "{% for m in messages if m.role != 'system' %}{{ loop.index }}{{ m.role }}{% else %}none{% endfor %}",
    "{% for m in [] %}x{% else %}empty{% endfor %}",
    "{% for m in messages %}{% if loop.index0 == 1 %}{% break %}{% endif %}{{ m.role }}{% endfor %}|{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{{ m.role }}{% endfor %}",
    "{% set x = 1 %}{% for m in messages %}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}",
    "{% set ns = namespace(count=0, last='') %}{% for m in messages %}{% set ns.count = ns.count + 1 %}{% set ns.last = m.role %}{% endfor %}{{ ns.count }} {{ ns.last }}",
    "{% set a, b = [1, 2] %}{{ a }}{{ b }}{% for k, v in messages[1].meta.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in messages[1].meta | items %}{{ k }}:{{ v }};{% endfor %}",
    "{% set block %}in {{ messages[0].content }} block{% endset %}[{{ block }}]",
    "{% if messages[0].role == 'user' %}u{% elif messages[0].role == 'system' %}s{% else %}o{% endif %}",
    "{{ messages[1].content | trim }}|{{ messages[1].content.strip() }}|{{ messages[1].content.lstrip() }}|{{ messages[1].content.rstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ '--a--' | trim('-') }}",
    "{{ 'Hello' | upper }}{{ 'Hello' | lower }}{{ 'hello world' | capitalize }}{{ 'hello wORLD-x' | title }}{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'hello there'.title() }}",
    "{{ 'a,b,,c'.split(',') }}{{ ' a  b c '.split() }}{{ 'a b c'.split(' ', 1) }}{{ 'aXbXc'.replace('X', '-') }}{{ 'aaa' | replace('a', 'b', 2) }}",
    "{{ 'hello'.startswith('he') }}{{ 'hello'.endswith('lo') }}{{ 'hello'.startswith(('x', 'h')) }}{{ 'ell' in 'hello' }}{{ 'z' not in 'hello' }}{{ 'role' in messages[0] }}{{ 'x' in messages[0] }}{{ 2 in [1, 2] }}",
    "{{ messages[1] | tojson }}|{{ messages[1].meta | tojson(indent=2) }}|{{ messages[1].tags | tojson(separators=(',', ':')) }}|{{ {'b': 1, 'a': [1.0, 2.5, 1e20, -0.0, 'é\n\t\\\"']} | tojson(sort_keys=true) }}",
    "{{ none }}|{{ true }}|{{ false }}|{{ 1.0 }}|{{ 0.1 }}|{{ 1e16 }}|{{ 1e-5 }}|{{ 123456789.125 }}|{{ [1, 'a', none, true, 2.0] }}|{{ {'a': 'it\\'s', 'b': none} }}|{{ undefined_name }}|{{ messages[1].meta }}",
    "{{ 1 + 2 }}{{ 7 // 2 }}{{ -7 // 2 }}{{ 7 % 3 }}{{ -7 % 3 }}{{ 7 / 2 }}{{ 2 ** 10 }}{{ 2 * 3.5 }}{{ 'ab' * 3 }}{{ 1 ~ 'x' ~ none }}{{ [1] + [2] }}{{ 1 == 1.0 }}{{ true == 1 }}{{ 3 > 2 > 1 }}",
    "{{ 'a' if messages else 'b' }}{{ 'c' if not messages }}|{{ messages[0].missing is defined }}{{ messages[0].missing is undefined }}{{ none is none }}{{ 'x' is string }}{{ 3 is number }}{{ 3 is integer }}{{ 3.0 is float }}{{ messages is iterable }}{{ messages[0] is mapping }}{{ 4 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(2) }}{{ true is boolean }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list | length }}{{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') | join(',') }}{{ [1, 2, 3, 4] | select('odd') | list }}{{ [1, 2, 3] | reject('equalto', 2) | list }}{{ messages | map(attribute='role') | list }}",
    "{{ messages | first | tojson }}{{ (messages | last).role }}{{ [3, 1, 2] | sort }}{{ ['b', 'A', 'c'] | sort }}{{ [3, 1, 2] | sort(reverse=true) }}{{ [1, 2, 1] | unique | list }}{{ [4, 2, 8] | max }}{{ [4, 2, 8] | min }}{{ [1, 2, 3] | sum }}{{ [1, 2] | reverse | list }}",
    "{{ '42' | int + 1 }}{{ 'x' | int }}{{ '2.5' | float }}{{ 3 | string + 'x' }}{{ -3 | abs }}{{ messages[0].nope | default('dflt') }}{{ '' | default('empty', true) }}{{ messages | length > 2 }}{{ 'héllo' | length }}{{ 'héllo'[1] }}{{ 'héllo' | reverse }}",
    "{{ '<a & b>' | e }}{{ 'x' | safe }}{{ 'line1\nline2' | indent(2) }}|{{ 'line1\n\nline2' | indent(2, true) }}|{{ {'b': 1, 'a': 2} | dictsort }}|{{ 'a-b' | replace('-', '') | upper }}",
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', punct='?') }} {{ greet(name='Cy') }}",
    "{{ range(3) | list }}{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}{{ dict(a=1, b='x') }}{{ namespace(a=1).a }}",
    "{{ messages[1].get('name') }}{{ messages[1].get('nope', 'd') }}{{ messages[1].get('nope') }}{{ messages[1].keys() | list }}{{ messages[1].tags.0 }}{{ messages[1]['tags'][1] }}",
    "  {% if true %}\n    indented\n  {% endif %}\n  {%- if true %} a {% endif -%}  \n b {%+ if true %}c{% endif %}\n{# comment #}\n  {# indented comment #}\n{{- ' d ' -}}\n e",
    "{%- for m in messages -%}\n  {{ m.role }}\n{%- endfor -%}\n{% for m in messages %}\n{{ m.role }}\n{% endfor %}\nend\n",
    "a\r\nb\rc{{ 'x' }}\n\n",
    "{{ 'a' }}{#- strip -#}   {{ 'b' }} {{- 'c' }}  {%- set x = 1 -%}  {{ x }}",
    "{{ 'x' + 1 }}",
    "{{ messages.nope.deeper }}",
    "{{ raise_exception('custom refusal') }}",
    "{{ 1 / 0 }}",
    "{% set ns = namespace() %}{% set ns._hidden = 1 %}{{ ns._hidden }}",
    "{{ messages | tojson(indent=1) | length }}{{ messages[1].score * 2 }}{{ messages[1].n - 5 }}{{ messages[1].flag and 'yes' }}{{ none or 'fallback' }}{{ 0 or '' or 'last' }}",
    "{{ \"double\" ~ 'single' ~ '\\u00e9\\x41\\101\\q' }}|{{ 'a' 'b' }}|{{ 1_000 + 1 }}|{{ 1.5e3 }}|{{ [1, 2,] }}|{{ (1, 2) }}|{{ () }}|{{ (1,) }}",
    "{% generation %}gen {{ 1 }}{% endgeneration %}",
]


def render(template, messages, add_generation_prompt, bos, eos, extra):
    from jinja2.exceptions import TemplateError
    from transformers.utils.chat_template_utils import render_jinja_template

    try:
        rendered, _ = render_jinja_template(conversations=[messages], chat_template=template,
                                            add_generation_prompt=add_generation_prompt,
                                            bos_token=bos, eos_token=eos, **extra)
        return {"output": rendered[0]}
    except TemplateError as e:
        return {"error": str(e)}


def main():
    import jinja2
    import transformers

    templates = {}
    for name in sorted(os.listdir(TEMPLATES)):
        if name.endswith(".json"):
            with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
                templates[name[:-5]] = json.load(f)
    cases = []
    for name, cfg in templates.items():
        bos, eos = cfg.get("bos_token") or "", cfg.get("eos_token") or ""
        extra = {"date_string": "05 Dec 2026"} if name in DATED else {}
        for conv in CONVERSATIONS:
            for agp in (True, False):
                case = {"template": name, "conversation": conv, "add_generation_prompt": agp, "extra": extra}
                case.update(render(cfg["chat_template"], CONVERSATIONS[conv], agp, bos, eos, extra))
                cases.append(case)
    conversations = dict(CONVERSATIONS)
    for name, label, messages, extra in EXTRA_CASES:
        cfg = templates[name]
        conv = f"{name}:{label}"
        conversations[conv] = messages
        case = {"template": name, "conversation": conv, "add_generation_prompt": True, "extra": extra}
        case.update(render(cfg["chat_template"], messages, True, cfg.get("bos_token") or "", cfg.get("eos_token") or "", extra))
        cases.append(case)
    snippets = []
    for text in SNIPPETS:
        case = {"template": text, "add_generation_prompt": True}
        try:
            case.update(render(text, SNIPPET_MESSAGES, True, "<s>", "</s>", {}))
        except Exception as e:  # a type error, an undefined used, a division by zero ...: ours must fail too
            case["error"] = f"{type(e).__name__}: {e}"
        snippets.append(case)
    doc = {
        "_generated_by": "tests/reference/make_chat_golden.py with transformers " + transformers.__version__ +
                         ", jinja2 " + jinja2.__version__ + " (transformers.utils.chat_template_utils.render_jinja_template)",
        "conversations": conversations,
        "cases": cases,
        "snippet_messages": SNIPPET_MESSAGES,
        "snippets": snippets,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum(1 for c in cases if "error" in c)
    print(f"wrote {OUT}: {len(cases)} cases over {len(templates)} templates ({errors} refused by their template), "
          f"{len(snippets)} snippets ({sum(1 for c in snippets if 'error' in c)} failing)")


if __name__ == "__main__":
    sys.exit(main())
