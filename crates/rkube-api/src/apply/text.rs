//! Field names and the string comparisons sets and keys are made of.
//!
//! Walking an object compares thousands of short strings (field names,
//! list keys). Comparing them inline, a word at a time, costs a fraction
//! of a call to the C library's `memcmp`, which dominated the walks.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// A field name. Names the schema knows are borrowed from its static
/// tables, so the many field steps of a set built from an object cost no
/// allocation; map keys and unknown fields are owned.
#[derive(Clone)]
pub struct Name(NameRepr);

#[derive(Clone)]
enum NameRepr {
    Static(&'static str),
    Owned(Box<str>),
}

impl Name {
    pub const fn from_static(s: &'static str) -> Name {
        Name(NameRepr::Static(s))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            NameRepr::Static(s) => s,
            NameRepr::Owned(s) => s,
        }
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(NameRepr::Owned(s.into()))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(NameRepr::Owned(s.into_boxed_str()))
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        short_eq(self.as_str(), other.as_str())
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> Ordering {
        short_cmp(self.as_str(), other.as_str())
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// `a == b`, faster for the short strings keys and field names mostly
/// are: comparing in words inline beats calling the C library's `memcmp`.
#[inline]
pub fn short_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 32 {
        return a == b;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        if x != y {
            return false;
        }
    }
    ca.remainder()
        .iter()
        .zip(cb.remainder())
        .all(|(x, y)| x == y)
}

/// `a.cmp(b)`, inline as [`short_eq`]: bytes compare as big-endian words.
#[inline]
pub fn short_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len().min(b.len());
    if n > 32 {
        return a.cmp(b);
    }
    let mut ca = a[..n].chunks_exact(8);
    let mut cb = b[..n].chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let word = |c: &[u8]| u64::from_be_bytes(c.try_into().unwrap_or([0; 8]));
        match word(x).cmp(&word(y)) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        match x.cmp(y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of strings from a small alphabet up to 40 bytes long
    /// (past the 32-byte cut-over to the library comparison), sampled:
    /// the inline comparisons agree with the standard ones.
    #[test]
    fn inline_comparisons_agree_with_std() {
        let alphabet = ["", "a", "b", "z", "é", "\u{0}", "ab", "ba", "-0", "name"];
        let mut words = vec![String::new()];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2000 {
            let mut s = String::new();
            while s.len() < (seed % 41) as usize {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                s.push_str(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            words.push(s);
        }
        // Shared prefixes are where word-at-a-time comparison can go wrong.
        words.push("spec.template.spec.containers".into());
        words.push("spec.template.spec.containerz".into());
        words.push("spec.template.spec.containers.x".into());
        for a in &words {
            for b in words.iter().step_by(7) {
                assert_eq!(short_eq(a, b), a == b, "{a:?} == {b:?}");
                assert_eq!(short_cmp(a, b), a.cmp(b), "{a:?} cmp {b:?}");
                assert_eq!(short_cmp(b, a), b.cmp(a), "{b:?} cmp {a:?}");
            }
        }
    }
}
