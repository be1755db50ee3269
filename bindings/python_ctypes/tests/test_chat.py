"""Chat templates from Python: Model.apply_chat_template with the template of the model's tokenizer_config.json,
bit_ttt.apply_chat_template with an explicit one, against the goldens rendered by transformers
(tests/reference/make_chat_golden.py), and live against transformers when it is installed."""
from __future__ import annotations

import json
import shutil

import pytest

import bit_ttt
from conftest import TEST_DATA, write_model

TEMPLATES = TEST_DATA / "chat_templates"
GOLDEN = json.loads((TEST_DATA / "chat_golden" / "chat_templates.json").read_text(encoding="utf-8"))
CONVERSATION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]


def config(name):
    return json.loads((TEMPLATES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def qwen_model(tmp_path_factory):
    directory = write_model(tmp_path_factory.mktemp("chat_model"))
    shutil.copy(TEMPLATES / "qwen2.5-3b-instruct.json", directory / "tokenizer_config.json")
    with bit_ttt.Model(directory) as m:
        yield m


def test_the_model_template_is_used(qwen_model):
    assert qwen_model.chat_template == config("qwen2.5-3b-instruct")["chat_template"]
    text = qwen_model.apply_chat_template(CONVERSATION)
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
    assert not qwen_model.apply_chat_template(CONVERSATION, add_generation_prompt=False).endswith("assistant\n")
    # The prompt's control tokens are special tokens when tokenized with parse_special (here: a byte-level BPE
    # tokenizer that does not know them, so this only checks the call works end to end).
    assert qwen_model.tokenize(text, parse_special=True)


def test_tools_and_variables_reach_the_template(qwen_model):
    tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
    text = qwen_model.apply_chat_template(CONVERSATION[1:], tools=[tool])
    assert '<tools>\n{"type": "function", "function": {"name": "f", "parameters": {}}}\n</tools>' in text
    text = qwen_model.apply_chat_template(CONVERSATION, chat_template="{{ greeting }} {{ messages | length }}", greeting="hey")
    assert text == "hey 2"


def test_every_golden_renders_byte_for_byte():
    compared = 0
    for case in GOLDEN["cases"]:
        cfg = config(case["template"])
        messages = GOLDEN["conversations"][case["conversation"]]
        kwargs = dict(chat_template=cfg["chat_template"], add_generation_prompt=case["add_generation_prompt"],
                      bos_token=cfg.get("bos_token") or "", eos_token=cfg.get("eos_token") or "", **case["extra"])
        if "output" in case:
            assert bit_ttt.apply_chat_template(messages, **kwargs) == case["output"], (case["template"], case["conversation"])
            compared += 1
        else:
            with pytest.raises(bit_ttt.InvalidArgumentError, match=case["error"]):
                bit_ttt.apply_chat_template(messages, **kwargs)
    assert compared >= 200


def test_errors_are_clear(model, qwen_model):
    with pytest.raises(bit_ttt.UnsupportedError, match="no chat template"):
        model.apply_chat_template(CONVERSATION)
    assert model.chat_template is None
    with pytest.raises(bit_ttt.FormatError, match="line 1, column"):
        qwen_model.apply_chat_template(CONVERSATION, chat_template="{% if %}")
    with pytest.raises(bit_ttt.InvalidArgumentError, match="System role not supported"):
        bit_ttt.apply_chat_template(CONVERSATION, config("gemma-2b-it")["chat_template"])
    with pytest.raises(bit_ttt.FormatError, match="role"):
        qwen_model.apply_chat_template([{"content": "no role"}])
    with pytest.raises(TypeError):
        qwen_model.apply_chat_template([{"role": "user", "content": object()}])
    with pytest.raises(TypeError):
        bit_ttt.apply_chat_template(CONVERSATION)  # neither a model nor a template
    with pytest.raises(ValueError):
        bit_ttt.apply_chat_template(CONVERSATION, "x\0y")


def test_live_against_transformers_when_installed():
    """The same renders as transformers, live, on a conversation the goldens do not hold."""
    utils = pytest.importorskip("transformers.utils.chat_template_utils")
    messages = [{"role": "system", "content": "Ünïcode ✓ and \"quotes\""},
                {"role": "user", "content": "a\n\nb  "}, {"role": "assistant", "content": " c "},
                {"role": "user", "content": "{{ not a template }} {% neither %}"}]
    checked = 0
    for path in sorted(TEMPLATES.glob("*.json")):
        cfg = json.loads(path.read_text(encoding="utf-8"))
        kwargs = dict(bos_token=cfg.get("bos_token") or "", eos_token=cfg.get("eos_token") or "", date_string="1 Jan 2030")
        try:
            expected = utils.render_jinja_template(conversations=[messages], chat_template=cfg["chat_template"],
                                                   add_generation_prompt=True, **kwargs)[0][0]
        except Exception:
            with pytest.raises(bit_ttt.BitTttError):
                bit_ttt.apply_chat_template(messages, cfg["chat_template"], **kwargs)
            continue
        assert bit_ttt.apply_chat_template(messages, cfg["chat_template"], **kwargs) == expected, path.name
        checked += 1
    assert checked >= 10


CHAT_CORPUS = json.loads((TEST_DATA / "malformed" / "chat_manifest.json").read_text(encoding="utf-8"))
STATUS_ERRORS = {51: bit_ttt.FormatError, 10: bit_ttt.InvalidArgumentError}


@pytest.mark.parametrize("entry", [e for e in CHAT_CORPUS["entries"] if e["stage"] == "render"],
                         ids=lambda e: e["name"])
def test_malformed_chat_templates(entry):
    template = json.loads((TEST_DATA / "malformed" / entry["path"]).read_text(encoding="utf-8"))["chat_template"]
    with pytest.raises(STATUS_ERRORS[entry["expect_status"]]) as ei:
        bit_ttt.apply_chat_template(CHAT_CORPUS["messages"], template)
    assert entry["expect_in_message"] in str(ei.value).lower()
