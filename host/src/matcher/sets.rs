//! Sets of a bucket's rules (by position), stored by the bucket's size: as
//! bit sets in a small bucket, where a test or an update is a few word
//! operations, and as lists in a large one, where most sets are sparse.
//! Every set of a bucket lies in one contiguous vector, for locality.

/// Buckets of up to this many 64-rule words keep their sets as bit sets.
const MASK_WORDS: usize = 4;

/// Numbered sets of rules, each used against a bit set of `words` words.
#[derive(Default)]
pub(super) struct RuleSets {
    words: usize,
    /// Small buckets: set `s` is `masks[s * words..(s + 1) * words]`.
    masks: Vec<u64>,
    /// Large buckets: set `s` is `members[starts[s]..starts[s + 1]]`.
    members: Vec<u32>,
    starts: Vec<u32>,
}

impl RuleSets {
    /// The sets, from their members, for a bucket of `words` words.
    pub(super) fn new<'a>(words: usize, sets: impl IntoIterator<Item = &'a [u32]>) -> RuleSets {
        let mut out = RuleSets {
            words,
            ..RuleSets::default()
        };
        if words <= MASK_WORDS {
            for members in sets {
                let at = out.masks.len();
                out.masks.resize(at + words, 0);
                for &n in members {
                    out.masks[at + n as usize / 64] |= 1 << (n % 64);
                }
            }
        } else {
            out.starts.push(0);
            for members in sets {
                out.members.extend_from_slice(members);
                out.starts.push(out.members.len() as u32);
            }
        }
        out
    }

    fn masked(&self) -> bool {
        self.words <= MASK_WORDS
    }

    fn mask(&self, s: usize) -> &[u64] {
        &self.masks[s * self.words..(s + 1) * self.words]
    }

    fn members(&self, s: usize) -> &[u32] {
        &self.members[self.starts[s] as usize..self.starts[s + 1] as usize]
    }

    /// Whether set `s` and `bits` share a rule.
    #[inline]
    pub(super) fn meets(&self, s: usize, bits: &[u64]) -> bool {
        if self.masked() {
            self.mask(s).iter().zip(bits).any(|(m, b)| m & b != 0)
        } else {
            self.members(s)
                .iter()
                .any(|&n| bits[n as usize / 64] & (1 << (n % 64)) != 0)
        }
    }

    /// Clears set `s`'s rules in `bits`.
    #[inline]
    pub(super) fn clear_in(&self, s: usize, bits: &mut [u64]) {
        if self.masked() {
            for (b, m) in bits.iter_mut().zip(self.mask(s)) {
                *b &= !m;
            }
        } else {
            for &n in self.members(s) {
                bits[n as usize / 64] &= !(1 << (n % 64));
            }
        }
    }

    /// Sets set `s`'s rules in `bits`.
    #[inline]
    pub(super) fn set_in(&self, s: usize, bits: &mut [u64]) {
        if self.masked() {
            for (b, m) in bits.iter_mut().zip(self.mask(s)) {
                *b |= m;
            }
        } else {
            for &n in self.members(s) {
                bits[n as usize / 64] |= 1 << (n % 64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both layouts answer alike: 2 words (bit sets) and 6 words (lists).
    #[test]
    fn layouts_agree() {
        for words in [2, 6] {
            let top = (words * 64 - 1) as u32;
            let sets: Vec<Vec<u32>> = vec![vec![0, 5, top], vec![], vec![64]];
            let rs = RuleSets::new(words, sets.iter().map(Vec::as_slice));
            let mut bits = vec![0u64; words];
            assert!(!rs.meets(0, &bits));
            rs.set_in(0, &mut bits);
            assert!(rs.meets(0, &bits));
            assert!(!rs.meets(1, &bits));
            assert!(!rs.meets(2, &bits));
            assert_eq!(bits[0], 1 | 1 << 5);
            assert_eq!(bits[words - 1], 1 << 63);
            rs.set_in(2, &mut bits);
            assert_eq!(bits[1] & 1, 1);
            rs.clear_in(0, &mut bits);
            assert_eq!(bits[0], 0);
            assert_eq!(bits[words - 1] >> 63, 0);
            assert!(rs.meets(2, &bits));
        }
    }
}
