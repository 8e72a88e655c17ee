//! Environment fingerprint: what a measurement depends on besides the code.
//!
//! Two result files are only comparable at face value when CPU, core count,
//! OS, kernel, compiler and dependency versions agree; [`Fingerprint::differences`]
//! lists what does not, and the reports warn loudly about it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitState {
    pub commit: String,
    pub branch: String,
    /// Tracked files differ from the commit.
    pub dirty: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub cpu_model: String,
    /// `/proc/cpuinfo` flags of the first processor, sorted.
    pub cpu_flags: Vec<String>,
    pub logical_cores: usize,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    pub rustc: String,
    /// Workspace crates and criterion, from Cargo.lock.
    pub crate_versions: BTreeMap<String, String>,
    pub git: Option<GitState>,
    pub date: String,
}

/// One field that differs between two fingerprints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub field: String,
    pub baseline: String,
    pub current: String,
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Fingerprint {
    /// Collects the fingerprint of this machine for the workspace at `root`.
    /// Never fails: what cannot be read is recorded as "unknown".
    pub fn collect(root: &Path) -> Fingerprint {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let (cpu_model, cpu_flags) = parse_cpuinfo(&cpuinfo);
        Fingerprint {
            cpu_model,
            cpu_flags,
            logical_cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            os: os_name(),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            arch: std::env::consts::ARCH.to_string(),
            rustc: command_line_output(
                &std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()),
                &["-V"],
            ),
            crate_versions: crate_versions(&root.join("Cargo.lock")),
            git: git_state(root),
            date: now_rfc3339(),
        }
    }

    /// "AMD EPYC ... (2 logical cores, avx512f avx2), Debian 13, rustc 1.91"
    pub fn machine_summary(&self) -> String {
        let simd: Vec<&str> = ["avx512f", "avx512_vnni", "avx2", "fma"]
            .into_iter()
            .filter(|f| self.cpu_flags.iter().any(|g| g == f))
            .collect();
        format!(
            "{} ({} logical cores; {}), {} {}, kernel {}, {}",
            self.cpu_model,
            self.logical_cores,
            if simd.is_empty() {
                "no AVX2".to_string()
            } else {
                simd.join(" ")
            },
            self.os,
            self.arch,
            self.kernel,
            self.rustc
        )
    }

    /// Fields that make timings incomparable (git state and date excluded).
    pub fn differences(&self, current: &Fingerprint) -> Vec<FieldDiff> {
        let mut out = Vec::new();
        let mut push = |field: &str, a: String, b: String| {
            if a != b {
                out.push(FieldDiff {
                    field: field.to_string(),
                    baseline: a,
                    current: b,
                });
            }
        };
        push(
            "cpu_model",
            self.cpu_model.clone(),
            current.cpu_model.clone(),
        );
        push(
            "logical_cores",
            self.logical_cores.to_string(),
            current.logical_cores.to_string(),
        );
        push("os", self.os.clone(), current.os.clone());
        push("kernel", self.kernel.clone(), current.kernel.clone());
        push("arch", self.arch.clone(), current.arch.clone());
        push("rustc", self.rustc.clone(), current.rustc.clone());
        let names: std::collections::BTreeSet<&String> = self
            .crate_versions
            .keys()
            .chain(current.crate_versions.keys())
            .collect();
        for name in names {
            let get = |m: &BTreeMap<String, String>| {
                m.get(name).cloned().unwrap_or_else(|| "absent".into())
            };
            push(
                &format!("crate {name}"),
                get(&self.crate_versions),
                get(&current.crate_versions),
            );
        }
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|f| !b.contains(f)).cloned().collect()
        };
        let lost = only(&self.cpu_flags, &current.cpu_flags);
        let gained = only(&current.cpu_flags, &self.cpu_flags);
        if !lost.is_empty() || !gained.is_empty() {
            out.push(FieldDiff {
                field: "cpu_flags".into(),
                baseline: format!("only here: {}", or_none(&lost)),
                current: format!("only here: {}", or_none(&gained)),
            });
        }
        out
    }
}

fn or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(" ")
    }
}

/// Model name and flags of the first processor listed.
pub fn parse_cpuinfo(text: &str) -> (String, Vec<String>) {
    let field = |name: &str| {
        text.lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let model = field("model name").unwrap_or_else(|| "unknown".into());
    let mut flags: Vec<String> = field("flags")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    flags.sort();
    flags.dedup();
    (model, flags)
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn os_name() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

fn command_line_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Versions of the workspace's own packages (no `source`) and criterion.
pub fn crate_versions(lock: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(lock) else {
        return out;
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return out;
    };
    for pkg in doc
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let name = pkg.get("name").and_then(|v| v.as_str()).unwrap_or("");
        let version = pkg.get("version").and_then(|v| v.as_str()).unwrap_or("");
        if pkg.get("source").is_none() || name == "criterion" || name == "statrs" {
            out.insert(name.to_string(), version.to_string());
        }
    }
    out
}

/// Commit, branch and dirty state of the repository containing `root`.
pub fn git_state(root: &Path) -> Option<GitState> {
    let repo = git2::Repository::discover(root).ok()?;
    let head = repo.head().ok()?;
    let commit = head.peel_to_commit().ok()?.id().to_string();
    let branch = if head.is_branch() {
        head.shorthand().unwrap_or("unknown").to_string()
    } else {
        "HEAD (detached)".to_string()
    };
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(false).include_ignored(false);
    let dirty = repo
        .statuses(Some(&mut opts))
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    Some(GitState {
        commit,
        branch,
        dirty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpuinfo() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC 9R45\nflags\t\t: fpu avx2 sse avx512f avx2\n\nprocessor\t: 1\nmodel name\t: other\n";
        let (model, flags) = parse_cpuinfo(text);
        assert_eq!(model, "AMD EPYC 9R45");
        assert_eq!(flags, vec!["avx2", "avx512f", "fpu", "sse"]);
    }

    #[test]
    fn differences_ignore_git_and_date() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let a = Fingerprint::collect(&root);
        let mut b = a.clone();
        b.date = "2000-01-01T00:00:00Z".into();
        b.git = None;
        assert!(a.differences(&b).is_empty());
        b.rustc = "rustc 0.0.1".into();
        b.cpu_flags.push("zz_new_flag".into());
        let d = a.differences(&b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[1].current.contains("zz_new_flag"));
        assert!(a.crate_versions.contains_key("perf-gate"));
        assert!(a.git.is_some());
    }
}
