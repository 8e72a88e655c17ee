"""Peer quantizer for engine/tests/tq_python_peer.rs.

Reads `rows x cols` little-endian f32 from IN, quantizes them with the gguf
package's numpy TQ1_0 and TQ2_0 quantizers and writes, into OUT_DIR,
`<name>.bin` (the packed bytes) and `<name>.f32` (gguf's dequantization of
those bytes). Usage: tq_peer.py IN ROWS COLS OUT_DIR
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import dequantize, quantize


def main() -> None:
    src, rows, cols, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    x = np.fromfile(src, dtype="<f4").reshape(rows, cols)
    for name, qtype in (("tq1_0", GGMLQuantizationType.TQ1_0), ("tq2_0", GGMLQuantizationType.TQ2_0)):
        with np.errstate(all="ignore"):
            packed = quantize(x, qtype)
        packed.tofile(os.path.join(out, name + ".bin"))
        dequantize(packed, qtype).astype("<f4").tofile(os.path.join(out, name + ".f32"))


if __name__ == "__main__":
    main()
