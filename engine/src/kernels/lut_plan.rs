//! How one token's lookup-table GEMV is dealt to threads.
//!
//! The work is `tiles x groups` units (one record of one tile each, all of
//! the same cost). Dealing whole tiles leaves threads uneven whenever the
//! tile count is not a multiple of the thread count: 640 rows are 5 TL1
//! tiles, 3 + 2 on two threads, so two threads can be at most 5/3 = 1.67x
//! one. Here each thread gets `units / threads` units, so a thread block may
//! start or end inside a tile: that tile's rows are summed over a span of
//! `k` by each of the two threads and the exact i32 halves added before the
//! epilogue.
//!
//! ```text
//! units:    | tile 0 | tile 1 | tile 2 | tile 3 | tile 4 |     (5 tiles)
//! threads:  |<------ thread 0 ------>|<------ thread 1 ------>|
//!                                 tile 2 split at group g
//! parts:    |  t0    |  t1    | t2<g |t2>=g | t3     | t4     |
//! ```
//!
//! Inside a thread's block the parts (for balancing against a slow or late
//! thread) end on tile boundaries, so only block boundaries split tiles:
//! at most `threads - 1` split tiles per call.

use std::ops::Range;

/// Block boundaries inside a tile (and the span starts of a GEMV on more
/// threads than tiles) are multiples of this many groups, or move to the
/// tile's end when that is closer: any start is exact, and a small unit
/// keeps the shares within a few groups of equal (64 would split TL2's 854
/// groups of 2560 columns 448:406).
pub(crate) const SPLIT_ALIGN_GROUPS: usize = 8;

/// The parts of one GEMV call, in units (`tile * groups + group`).
#[derive(Debug)]
pub(crate) struct Plan {
    groups: usize,
    /// `parts + 1` non-decreasing unit boundaries from 0 to `tiles * groups`.
    bounds: Vec<usize>,
    /// The tiles that a block boundary splits, ascending.
    splits: Vec<usize>,
}

/// What a part does: whole tiles (`Tiles`) or a span of one tile's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Tiles(Range<usize>),
    Span { tile: usize, groups: Range<usize> },
}

impl Plan {
    /// `threads` blocks of about equal units, each cut into
    /// `parts_per_thread` parts at tile boundaries (parts may be empty).
    pub(crate) fn new(
        tiles: usize,
        groups: usize,
        threads: usize,
        parts_per_thread: usize,
    ) -> Self {
        let (threads, ppt) = (threads.max(1), parts_per_thread.max(1));
        let total = tiles * groups;
        let snap = |u: usize| {
            let (t, g) = (u / groups, u % groups);
            let g = g / SPLIT_ALIGN_GROUPS * SPLIT_ALIGN_GROUPS;
            if g == 0 {
                t * groups
            } else if groups - g < SPLIT_ALIGN_GROUPS {
                (t + 1) * groups
            } else {
                t * groups + g
            }
        };
        let blocks: Vec<usize> = (0..=threads)
            .map(|b| snap(total * b / threads).min(total))
            .collect();
        let mut bounds = vec![0];
        for b in blocks.windows(2) {
            let (lo, hi) = (b[0], b[1]);
            for i in 1..ppt {
                // Nearest tile boundary to the even cut, kept inside the block.
                let u = lo + (hi - lo) * i / ppt;
                let t = (u + groups / 2) / groups * groups;
                bounds.push(t.clamp(lo, hi));
            }
            bounds.push(hi);
        }
        let mut splits: Vec<usize> = blocks
            .iter()
            .filter(|&&u| u % groups != 0)
            .map(|&u| u / groups)
            .collect();
        splits.dedup();
        Plan {
            groups,
            bounds,
            splits,
        }
    }

    pub(crate) fn parts(&self) -> usize {
        self.bounds.len() - 1
    }

    /// The tiles that threads share (their rows' sums come in spans).
    pub(crate) fn splits(&self) -> &[usize] {
        &self.splits
    }

    /// Where `tile`'s partial sums go among the split tiles, if it is one.
    pub(crate) fn split_slot(&self, tile: usize) -> Option<usize> {
        self.splits.binary_search(&tile).ok()
    }

    /// The pieces of part `p`, in order.
    pub(crate) fn pieces(&self, p: usize) -> impl Iterator<Item = Piece> + '_ {
        let (mut u, end) = (self.bounds[p], self.bounds[p + 1]);
        let g = self.groups;
        std::iter::from_fn(move || {
            if u >= end {
                return None;
            }
            let (t, g0) = (u / g, u % g);
            if g0 == 0 && end >= (t + 1) * g {
                let t1 = end / g;
                u = t1 * g;
                Some(Piece::Tiles(t..t1))
            } else {
                let g1 = (end - t * g).min(g);
                u = t * g + g1;
                Some(Piece::Span {
                    tile: t,
                    groups: g0..g1,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every unit of every tile in exactly one piece, spans only in split
    /// tiles, and each thread's block within a few groups of even.
    #[test]
    fn pieces_cover_every_unit_once_and_blocks_are_even() {
        for tiles in 1..12 {
            for groups in [1, 5, 8, 9, 64, 427, 854, 1280] {
                for threads in 1..5 {
                    for ppt in 1..5 {
                        let plan = Plan::new(tiles, groups, threads, ppt);
                        assert_eq!(plan.parts(), threads * ppt);
                        let mut seen = vec![0u8; tiles * groups];
                        for p in 0..plan.parts() {
                            for piece in plan.pieces(p) {
                                let units: Vec<usize> = match piece {
                                    Piece::Tiles(r) => (r.start * groups..r.end * groups).collect(),
                                    Piece::Span { tile, groups: gr } => {
                                        assert!(plan.split_slot(tile).is_some());
                                        assert!(!gr.is_empty() && gr.len() < groups);
                                        gr.map(|x| tile * groups + x).collect()
                                    }
                                };
                                for u in units {
                                    seen[u] += 1;
                                }
                            }
                        }
                        assert!(
                            seen.iter().all(|&n| n == 1),
                            "{tiles} {groups} {threads} {ppt}"
                        );
                        assert!(plan.splits().len() < threads);
                        let block = |b: usize| plan.bounds[(b + 1) * ppt] - plan.bounds[b * ppt];
                        let even = tiles * groups / threads;
                        for b in 0..threads {
                            assert!(
                                block(b).abs_diff(even) <= 2 * SPLIT_ALIGN_GROUPS,
                                "{tiles} {groups} {threads}: block {b} has {} units, even {even}",
                                block(b)
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn five_tiles_on_two_threads_split_the_middle_tile() {
        let plan = Plan::new(5, 1280, 2, 1);
        assert_eq!(plan.splits(), &[2]);
        let p0: Vec<Piece> = plan.pieces(0).collect();
        let p1: Vec<Piece> = plan.pieces(1).collect();
        assert_eq!(
            p0,
            [
                Piece::Tiles(0..2),
                Piece::Span {
                    tile: 2,
                    groups: 0..640
                }
            ]
        );
        assert_eq!(
            p1,
            [
                Piece::Span {
                    tile: 2,
                    groups: 640..1280
                },
                Piece::Tiles(3..5)
            ]
        );
    }

    #[test]
    fn whole_tile_blocks_need_no_split() {
        let plan = Plan::new(16, 1024, 2, 8);
        assert!(plan.splits().is_empty());
        assert!((0..plan.parts()).all(|p| plan.pieces(p).all(|x| matches!(x, Piece::Tiles(_)))));
    }
}
