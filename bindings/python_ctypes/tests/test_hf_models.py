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
