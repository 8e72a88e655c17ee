//! Small enums shared by the host API and the kernels (their discriminants
//! are compiled into the kernels as `#define`s by [`super::source`]).

/// Which dimensions RoPE rotates together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RopeStyle {
    /// Pairs `(i, i + n_rot / 2)`: llama.cpp's NEOX style (its `bitnet` arch).
    Neox,
    /// Adjacent pairs `(2i, 2i + 1)`.
    Normal,
}

impl RopeStyle {
    pub const fn code(self) -> i32 {
        match self {
            RopeStyle::Neox => 0,
            RopeStyle::Normal => 1,
        }
    }
}

/// The gate activation of the FFN: `out = act(gate) * up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatedAct {
    /// `max(g, 0)^2` (BitNet b1.58 2B4T).
    Relu2,
    /// `g * sigmoid(g)` (llama.cpp `bitnet`).
    Silu,
}

impl GatedAct {
    pub const fn code(self) -> i32 {
        match self {
            GatedAct::Relu2 => 0,
            GatedAct::Silu => 1,
        }
    }
}

/// Per-token activation quantization range (W1.58A8: int8).
pub const ACT_QMAX: i32 = i8::MAX as i32;
pub const ACT_QMIN: i32 = i8::MIN as i32;

/// Compute capability of a device, e.g. 8.0 for an A100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arch {
    pub major: u32,
    pub minor: u32,
}

impl Arch {
    pub const SM80: Arch = Arch { major: 8, minor: 0 };
    pub const SM90: Arch = Arch { major: 9, minor: 0 };

    /// NVRTC's virtual architecture name: we emit PTX and let the driver
    /// JIT it for the exact chip, so one compile serves a whole family.
    pub fn compute_name(self) -> String {
        format!("compute_{}{}", self.major, self.minor)
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sm_{}{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_names() {
        assert_eq!(Arch::SM80.compute_name(), "compute_80");
        assert_eq!(Arch::SM90.to_string(), "sm_90");
        assert!(Arch::SM90 > Arch::SM80);
    }

    #[test]
    fn codes_are_distinct() {
        assert_ne!(RopeStyle::Neox.code(), RopeStyle::Normal.code());
        assert_ne!(GatedAct::Relu2.code(), GatedAct::Silu.code());
        assert_eq!((ACT_QMIN, ACT_QMAX), (-128, 127));
    }
}
