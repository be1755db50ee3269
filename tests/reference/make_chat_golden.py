#!/usr/bin/env python3
"""Renders the committed chat templates (tests/data/chat_templates/*.json) with transformers' own
apply_chat_template renderer and writes the prompts to tests/data/golden/chat_templates.json, which the C++
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
OUT = os.path.join(ROOT, "tests", "data", "golden", "chat_templates.json")

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
    doc = {
        "_generated_by": "tests/reference/make_chat_golden.py with transformers " + transformers.__version__ +
                         ", jinja2 " + jinja2.__version__ + " (transformers.utils.chat_template_utils.render_jinja_template)",
        "conversations": conversations,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum(1 for c in cases if "error" in c)
    print(f"wrote {OUT}: {len(cases)} cases over {len(templates)} templates ({errors} refused by their template)")


if __name__ == "__main__":
    sys.exit(main())
