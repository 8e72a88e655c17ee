//! The CUDA C sources and the `#define`s that tie them to the Rust tables.
//!
//! `.cu` files hold no layout numbers: block sizes, byte counts, tile sizes
//! and enum codes are generated here from the format modules of
//! [`crate::quant`] (`i2s`, `tl1`, `tl2`, `codes`, `tensor_scale`), [`super::layout`],
//! [`super::launch`] and [`super::params`] and passed to NVRTC as `-D`
//! options. A program is `common.cuh` followed by one kernel file, with
//! `#line` markers so NVRTC's messages name the real file and line.

use super::{launch, layout, params};
use crate::quant::format::TENSOR_SCALE_BYTES;
use crate::quant::{codes, i2s, tensor_scale, tl1, tl2};

/// One `.cu` file: a separately compiled and cached NVRTC program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Module {
    Quant,
    ActQuant,
    GemvW2a8,
    GemmW2a8,
    GemmF16,
    RmsNorm,
    Rope,
    Attention,
    Activation,
    Residual,
}

const COMMON: &str = include_str!("kernels/common.cuh");

impl Module {
    pub const ALL: [Module; 10] = [
        Module::Quant,
        Module::ActQuant,
        Module::GemvW2a8,
        Module::GemmW2a8,
        Module::GemmF16,
        Module::RmsNorm,
        Module::Rope,
        Module::Attention,
        Module::Activation,
        Module::Residual,
    ];

    pub fn file(self) -> &'static str {
        match self {
            Module::Quant => "quant.cu",
            Module::ActQuant => "act_quant.cu",
            Module::GemvW2a8 => "gemv_w2a8.cu",
            Module::GemmW2a8 => "gemm_w2a8.cu",
            Module::GemmF16 => "gemm_f16.cu",
            Module::RmsNorm => "rmsnorm.cu",
            Module::Rope => "rope.cu",
            Module::Attention => "attention.cu",
            Module::Activation => "activation.cu",
            Module::Residual => "residual.cu",
        }
    }

    /// The file's own text (without the common prelude).
    pub fn text(self) -> &'static str {
        match self {
            Module::Quant => include_str!("kernels/quant.cu"),
            Module::ActQuant => include_str!("kernels/act_quant.cu"),
            Module::GemvW2a8 => include_str!("kernels/gemv_w2a8.cu"),
            Module::GemmW2a8 => include_str!("kernels/gemm_w2a8.cu"),
            Module::GemmF16 => include_str!("kernels/gemm_f16.cu"),
            Module::RmsNorm => include_str!("kernels/rmsnorm.cu"),
            Module::Rope => include_str!("kernels/rope.cu"),
            Module::Attention => include_str!("kernels/attention.cu"),
            Module::Activation => include_str!("kernels/activation.cu"),
            Module::Residual => include_str!("kernels/residual.cu"),
        }
    }

    /// The `extern "C"` kernels the file defines (what the host loads).
    pub fn entries(self) -> &'static [&'static str] {
        match self {
            Module::Quant => &[
                "abs_stats_partial",
                "abs_stats_final",
                "i2s_quantize",
                "i2s_dequantize",
                "tl1_quantize",
                "tl1_dequantize",
                "tl2_quantize",
                "tl2_dequantize",
            ],
            Module::ActQuant => &["act_quant"],
            Module::GemvW2a8 => &["gemv_w2a8"],
            Module::GemmW2a8 => &["gemm_w2a8"],
            Module::GemmF16 => &["gemm_f16", "gemv_f16", "gemv_f16_f32x"],
            Module::RmsNorm => &["rmsnorm"],
            Module::Rope => &["rope"],
            Module::Attention => &["attention", "kv_store"],
            Module::Activation => &["gated_act"],
            Module::Residual => &["residual_add"],
        }
    }

    /// The whole NVRTC program text: prelude + file, with `#line` markers.
    pub fn program(self) -> String {
        format!(
            "#line 1 \"common.cuh\"\n{COMMON}\n#line 1 \"{}\"\n{}",
            self.file(),
            self.text()
        )
    }
}

/// `(name, value)` of every constant the kernels read.
pub fn defines() -> Vec<(&'static str, String)> {
    // Bits of one I2S code: the distance between neighbouring plane shifts.
    let code_bits = (i2s::plane_shift(0) - i2s::plane_shift(1)) as usize;
    let int = |v: usize| v.to_string();
    vec![
        ("WARP", int(launch::WARP)),
        ("ELEM_THREADS", int(launch::ELEM_THREADS)),
        ("ROW_THREADS", int(launch::ROW_THREADS)),
        ("QUANT_WARPS", int(launch::QUANT_WARPS)),
        ("GEMV_WARPS", int(launch::GEMV_WARPS)),
        ("GEMM_BM", int(launch::GEMM_BM)),
        ("GEMM_BN", int(launch::GEMM_BN)),
        ("GEMM_BK", int(launch::GEMM_BK)),
        ("GEMM_THREADS", int(launch::GEMM_THREADS)),
        ("HGEMM_BM", int(launch::HGEMM_BM)),
        ("HGEMM_BN", int(launch::HGEMM_BN)),
        ("HGEMM_BK", int(launch::HGEMM_BK)),
        ("HGEMM_THREADS", int(launch::HGEMM_THREADS)),
        ("ATTN_THREADS", int(launch::ATTN_THREADS)),
        ("W2_WEIGHTS_PER_WORD", int(layout::WEIGHTS_PER_WORD)),
        ("W2_WORDS_PER_LOAD", int(layout::WORDS_PER_LOAD)),
        ("W2_SUPER_GROUPS", int(layout::SUPER_GROUPS)),
        ("TERNARY_BIAS", codes::code(0).to_string()),
        ("I2S_BLOCK", int(i2s::BLOCK)),
        ("I2S_BLOCK_BYTES", int(i2s::BLOCK_BYTES)),
        ("I2S_PLANE", int(i2s::PLANE)),
        ("I2S_CODE_BITS", int(code_bits)),
        ("TL1_BLOCK", int(tl1::BLOCK)),
        ("TL1_BLOCK_BYTES", int(tl1::BLOCK_BYTES)),
        ("TL1_MAX_INDEX", tl1::MAX_INDEX.to_string()),
        ("TL2_BLOCK", int(tl2::BLOCK)),
        ("TL2_TRIPLES", int(tl2::TRIPLES)),
        ("TL2_MAG_BYTES", int(tl2::MAG_BYTES)),
        ("TL2_SIGN_BYTES", int(tl2::SIGN_BYTES)),
        ("TL2_MAX_MAGNITUDE", tl2::MAX_MAGNITUDE.to_string()),
        ("TENSOR_SCALE_BYTES", int(TENSOR_SCALE_BYTES)),
        ("MIN_GAMMA", format!("{:e}f", tensor_scale::MIN_GAMMA)),
        ("ACT_QMAX", params::ACT_QMAX.to_string()),
        ("ACT_QMIN", format!("({})", params::ACT_QMIN)),
        ("ROPE_NEOX", params::RopeStyle::Neox.code().to_string()),
        ("ROPE_NORMAL", params::RopeStyle::Normal.code().to_string()),
        ("ACT_RELU2", params::GatedAct::Relu2.code().to_string()),
        ("ACT_SILU", params::GatedAct::Silu.code().to_string()),
    ]
}

/// NVRTC options for `arch`: PTX for the virtual architecture, C++17, the defines.
pub fn compile_options(arch: params::Arch) -> Vec<String> {
    let mut opts = vec![
        format!("--gpu-architecture={}", arch.compute_name()),
        "--std=c++17".to_string(),
    ];
    opts.extend(defines().into_iter().map(|(k, v)| format!("-D{k}={v}")));
    opts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Names of `extern "C"` kernels defined in a source text.
    fn kernels_in(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for part in text.split("extern \"C\" __global__").skip(1) {
            let sig = &part[..part.find('{').unwrap()];
            // Skip `__launch_bounds__(...)`: the name precedes the next '('.
            let sig = match sig.find("__launch_bounds__") {
                Some(i) => &sig[i + sig[i..].find(')').unwrap() + 1..],
                None => sig,
            };
            let name = sig[..sig.find('(').unwrap()]
                .split_whitespace()
                .last()
                .unwrap();
            out.insert(name.to_string());
        }
        out
    }

    #[test]
    fn every_entry_is_defined_and_every_kernel_is_listed() {
        for m in Module::ALL {
            let listed: BTreeSet<String> = m.entries().iter().map(|s| s.to_string()).collect();
            assert_eq!(kernels_in(m.text()), listed, "{}", m.file());
        }
    }

    /// Code without `//` comments and string literals (messages may name formats).
    fn strip_comments(text: &str) -> String {
        text.lines()
            .map(|l| {
                let code = l.split("//").next().unwrap_or("");
                code.split('"').step_by(2).collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_upper_case_macro_used_is_defined() {
        let defined: BTreeSet<String> = defines().into_iter().map(|(k, _)| k.to_string()).collect();
        for m in Module::ALL {
            let program = strip_comments(&m.program());
            let mut local = BTreeSet::new();
            for line in program.lines() {
                if let Some(rest) = line.trim().strip_prefix("#define ") {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    local.insert(name);
                }
            }
            let words = program
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| {
                    w.len() > 2
                        && w.chars().next().unwrap().is_ascii_uppercase()
                        && w.chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                });
            for w in words {
                assert!(
                    defined.contains(w) || local.contains(w),
                    "{} uses {w}, which nothing defines",
                    m.file()
                );
            }
        }
    }

    #[test]
    fn sources_are_complete() {
        for m in Module::ALL {
            for bad in ["TODO", "FIXME", "XXX"] {
                assert!(!m.program().contains(bad), "{} contains {bad}", m.file());
            }
        }
    }

    /// quant.cu's `I2S_SHIFT(p)` formula against the format's own shifts.
    #[test]
    fn i2s_shift_formula_matches_the_format() {
        let bits = (i2s::plane_shift(0) - i2s::plane_shift(1)) as usize;
        for p in 0..i2s::BLOCK / i2s::PLANE {
            assert_eq!((8 - bits) - bits * p, i2s::plane_shift(p) as usize);
        }
        // The format table and the modules agree on what the kernels read.
        use crate::quant::Format;
        assert_eq!(Format::I2S.block_weights(), i2s::BLOCK);
        assert_eq!(Format::TL1.block_bytes(), tl1::BLOCK_BYTES);
        assert_eq!(Format::TL2.block_bytes(), tl2::MAG_BYTES + tl2::SIGN_BYTES);
    }

    #[test]
    fn options_carry_arch_and_layout_constants() {
        let o = compile_options(params::Arch::SM90);
        assert_eq!(o[0], "--gpu-architecture=compute_90");
        assert!(o.contains(&"-DI2S_BLOCK=128".to_string()));
        assert!(o.contains(&format!("-DI2S_BLOCK_BYTES={}", i2s::BLOCK_BYTES)));
        assert!(o.contains(&"-DI2S_CODE_BITS=2".to_string()));
        assert!(o.contains(&"-DMIN_GAMMA=1e-5f".to_string()));
        assert!(o.contains(&"-DTL2_MAG_BYTES=16".to_string()));
        let names: BTreeSet<_> = defines().into_iter().map(|(k, _)| k).collect();
        assert_eq!(names.len(), defines().len(), "duplicate define");
    }
}
