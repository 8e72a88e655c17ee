//! Arbitrary bytes through the GGUF parser, the model config, the tensor
//! checks, the inspect report and the tensor decoders: errors are fine,
//! panics, aborts and huge allocations are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = engine::gguf::inspect::examine("fuzz.gguf", data.to_vec(), 1 << 16);
});
