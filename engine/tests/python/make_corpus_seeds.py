"""Writes the third-party seeds of the GGUF regression corpus with the `gguf`
package's own writer, so that the corpus (and the fuzzer started from it)
also covers files we did not write. Usage: make_corpus_seeds.py OUT_DIR

- meta-pywriter-values.gguf: every metadata value type (nested arrays too) and
  one tensor each of F32, F16, Q8_0, TQ1_0 and TQ2_0;
- ok-pywriter-bitnet.gguf: a complete, tiny `bitnet` model (hidden 16,
  1 layer, 8-token vocabulary, F16 projections).
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter
from gguf.quants import quantize


def values(path: str) -> None:
    w = GGUFWriter(path, "bitnet")
    w.add_uint8("t.u8", 7)
    w.add_int8("t.i8", -7)
    w.add_uint16("t.u16", 700)
    w.add_int16("t.i16", -700)
    w.add_uint32("t.u32", 70000)
    w.add_int32("t.i32", -70000)
    w.add_float32("t.f32", 0.5)
    w.add_uint64("t.u64", 1 << 40)
    w.add_int64("t.i64", -(1 << 40))
    w.add_float64("t.f64", 0.25)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "river")
    w.add_array("t.arr", [1, 2, 3])
    w.add_array("t.strs", ["a", "bc"])
    w.add_array("t.nested", [[1, 2], [3]])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 256)).astype(np.float32)
    w.add_tensor("f32", x[:, :8].copy())
    w.add_tensor("f16", x[:, :8].astype(np.float16))
    for name, qtype in (
        ("q8", GGMLQuantizationType.Q8_0),
        ("tq1", GGMLQuantizationType.TQ1_0),
        ("tq2", GGMLQuantizationType.TQ2_0),
    ):
        q = quantize(x, qtype)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)
    write(w)


def bitnet(path: str) -> None:
    n_embd, n_ff, n_vocab = 16, 16, 8
    w = GGUFWriter(path, "bitnet")
    w.add_context_length(64)
    w.add_embedding_length(n_embd)
    w.add_block_count(1)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(["a", "b", "c", "ab", "Ġ", "Ġa", "<s>", "</s>"])
    w.add_token_types([1, 1, 1, 1, 1, 1, 3, 3])
    w.add_token_merges(["a b", "Ġ a"])
    w.add_bos_token_id(6)
    w.add_eos_token_id(7)
    rng = np.random.default_rng(2)
    kv = n_embd // 2

    def t(name, shape, dtype=np.float16):
        w.add_tensor(name, rng.standard_normal(shape[::-1]).astype(dtype))

    t("token_embd.weight", (n_embd, n_vocab))
    t("output_norm.weight", (n_embd,), np.float32)
    t("blk.0.attn_norm.weight", (n_embd,), np.float32)
    t("blk.0.attn_q.weight", (n_embd, n_embd))
    t("blk.0.attn_k.weight", (n_embd, kv))
    t("blk.0.attn_v.weight", (n_embd, kv))
    t("blk.0.attn_sub_norm.weight", (n_embd,), np.float32)
    t("blk.0.attn_output.weight", (n_embd, n_embd))
    t("blk.0.ffn_norm.weight", (n_embd,), np.float32)
    t("blk.0.ffn_gate.weight", (n_embd, n_ff))
    t("blk.0.ffn_up.weight", (n_embd, n_ff))
    t("blk.0.ffn_sub_norm.weight", (n_ff,), np.float32)
    t("blk.0.ffn_down.weight", (n_ff, n_embd))
    write(w)


def write(w: GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    out = sys.argv[1]
    values(os.path.join(out, "meta-pywriter-values.gguf"))
    bitnet(os.path.join(out, "ok-pywriter-bitnet.gguf"))


if __name__ == "__main__":
    main()
