"""Peer reader for engine/tests/gguf_python_peer.rs.

Opens a GGUF file with the `gguf` package's GGUFReader, prints one JSON
object (metadata summary, every tensor's name, type, shape) and writes each
TQ1_0/TQ2_0/F16/F32 tensor's values, as gguf.quants.dequantize computes them,
to OUT_DIR/<tensor name>.f32. If llama-cpp-python is installed it also loads
the model and tokenizes a sentence. Usage: gguf_reader_peer.py FILE OUT_DIR
"""
import json
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def main() -> None:
    path, out = sys.argv[1], sys.argv[2]
    reader = GGUFReader(path)
    fields = {}
    for key in (
        "general.architecture",
        "tokenizer.ggml.model",
        "tokenizer.ggml.pre",
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
    ):
        fields[key] = reader.fields[key].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    merges = reader.fields["tokenizer.ggml.merges"].contents()
    report = {
        "fields": fields,
        "n_tokens": len(tokens),
        "first_tokens": tokens[:3],
        "n_merges": len(merges),
        "first_merge": merges[0],
        "tensors": [],
    }
    for t in reader.tensors:
        report["tensors"].append(
            {"name": t.name, "type": t.tensor_type.name, "shape": [int(d) for d in t.shape]}
        )
        values = dequantize(t.data, t.tensor_type).astype("<f4")
        values.tofile(os.path.join(out, t.name + ".f32"))
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        report["llama_cpp"] = "not installed"
    else:
        llm = llama_cpp.Llama(model_path=path, n_ctx=64, verbose=False)
        report["llama_cpp"] = llm.tokenize(b"The river ran under the old bridge.")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
