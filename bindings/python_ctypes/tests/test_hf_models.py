"""Attention models (Hugging Face Llama / BitNet directories) through the Python binding."""
import pytest

import bit_ttt
from conftest import TEST_DATA

HF = TEST_DATA / "hf"


def test_hf_directory_loads_and_reports_its_architecture():
    assert bit_ttt.Model(str(HF / "llama_gqa2_untied")).info.architecture == "llama"
    m = bit_ttt.Model(str(HF / "bitnet_gqa_tied_packed"))
    assert m.info.architecture == "bitnet"
    assert m.info.ttt_dim == 0


def test_kv_cache_length_and_type_are_context_parameters(tmp_path):
    m = bit_ttt.Model(str(HF / "bitnet_mha_untied"))
    c = m.context(n_ctx=4, kv_cache_type="int8")
    first = c.forward([1, 2, 3])
    with pytest.raises(bit_ttt.InvalidStateError, match="KV cache full"):
        c.forward([4, 5])
    c.save_soul(str(tmp_path / "npc.soul"))
    again = m.context(n_ctx=4, kv_cache_type="int8")
    again.load_soul(str(tmp_path / "npc.soul"))
    assert list(again.forward([7])) == list(c.forward([7]))
    assert len(first) == m.info.vocab_size
    with pytest.raises(ValueError):
        m.context(kv_cache_type="f8")


def test_learning_on_an_attention_model_reads_into_its_context(tmp_path):
    """No fast weights: learn puts the text into the KV cache, as reading a prompt does; what does not fit is refused
    whole; the learned context saves and resumes as a soul. (The model: tests/studio/tiny_chat_model.py.)"""
    import sys
    from conftest import REPO
    sys.path.insert(0, str(REPO / "tests" / "studio"))
    from tiny_chat_model import write_tiny_chat_model

    m = bit_ttt.Model(write_tiny_chat_model(str(tmp_path / "llama"), max_position=64))
    text = "The keeper of the lighthouse is named Orla."
    ids = m.tokenize(text)
    c = m.context(n_ctx=64)
    assert c.learn(text) == len(ids) and c.position == len(ids)
    after = list(c.forward([42]))
    fresh = m.context(n_ctx=64)
    assert list(fresh.forward(list(ids) + [42])) == after
    c.save_soul(str(tmp_path / "orla.soul"))
    resumed = m.context(n_ctx=64)
    resumed.load_soul(str(tmp_path / "orla.soul"))
    assert resumed.position == len(ids) + 1
    small = m.context(n_ctx=len(ids) + 2)
    small.learn(text)
    with pytest.raises(bit_ttt.InvalidStateError, match="KV cache"):
        small.learn(text)
    assert small.position == len(ids)
