//! Table definitions and the byte layout of stored records.
//!
//! Records are plain byte strings with a fixed little-endian header rather
//! than a serde format: they are decoded on every read of every key, the
//! header is tiny, and a hand-written layout cannot change under us when a
//! dependency is upgraded.

use std::fmt::Display;

use bytes::Bytes;
use redb::TableDefinition;

use crate::backend::{KeyValue, StoreError};

/// Bookkeeping scalars, see the `META_*` keys.
pub(super) const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
/// key -> [create_revision, mod_revision, value]: the live state.
pub(super) const CURRENT: TableDefinition<&str, &[u8]> = TableDefinition::new("current");
/// (key, revision) -> version record: every retained version, tombstones included.
pub(super) const HISTORY: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("history");
/// revision -> key: which key each retained revision changed.
pub(super) const EVENTS: TableDefinition<i64, &str> = TableDefinition::new("events");

/// The newest revision handed out.
pub(super) const META_REVISION: &str = "revision";
/// The oldest revision still readable.
pub(super) const META_COMPACTED: &str = "compacted";
/// Layout version of this file, so a later layout can migrate or refuse it.
pub(super) const META_FORMAT: &str = "format";
pub(super) const FORMAT_VERSION: i64 = 1;

/// Revision of an empty store; as in etcd, the first write gets revision 2.
pub(super) const INITIAL_REVISION: i64 = 1;

const TAG_PUT: u8 = 0;
const TAG_TOMBSTONE: u8 = 1;

pub(super) fn internal(e: impl Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

fn corrupt(what: &str, key: &str) -> StoreError {
    StoreError::Internal(format!("corrupt {what} record for key {key:?}"))
}

fn read_i64(raw: &[u8], at: usize) -> Option<i64> {
    let bytes: [u8; 8] = raw.get(at..at + 8)?.try_into().ok()?;
    Some(i64::from_le_bytes(bytes))
}

pub(super) fn encode_current(create_revision: i64, mod_revision: i64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + value.len());
    out.extend_from_slice(&create_revision.to_le_bytes());
    out.extend_from_slice(&mod_revision.to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// The revisions of a `current` record, without copying its value; used by
/// compare-and-swap checks and counting.
pub(super) fn current_revisions(key: &str, raw: &[u8]) -> Result<(i64, i64), StoreError> {
    match (read_i64(raw, 0), read_i64(raw, 8)) {
        (Some(create), Some(modr)) => Ok((create, modr)),
        _ => Err(corrupt("current", key)),
    }
}

pub(super) fn decode_current(key: &str, raw: &[u8]) -> Result<KeyValue, StoreError> {
    let (create_revision, mod_revision) = current_revisions(key, raw)?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(&raw[16..]),
        create_revision,
        mod_revision,
    })
}

pub(super) fn encode_put(create_revision: i64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + value.len());
    out.push(TAG_PUT);
    out.extend_from_slice(&create_revision.to_le_bytes());
    out.extend_from_slice(value);
    out
}

pub(super) fn encode_tombstone() -> [u8; 1] {
    [TAG_TOMBSTONE]
}

pub(super) fn is_tombstone(key: &str, raw: &[u8]) -> Result<bool, StoreError> {
    match raw.first() {
        Some(&TAG_PUT) => Ok(false),
        Some(&TAG_TOMBSTONE) => Ok(true),
        _ => Err(corrupt("history", key)),
    }
}

/// The key as it was after the write at `revision`, or None for a tombstone.
pub(super) fn decode_version(
    key: &str,
    revision: i64,
    raw: &[u8],
) -> Result<Option<KeyValue>, StoreError> {
    if is_tombstone(key, raw)? {
        return Ok(None);
    }
    let create_revision = read_i64(raw, 1).ok_or_else(|| corrupt("history", key))?;
    Ok(Some(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(&raw[9..]),
        create_revision,
        mod_revision: revision,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let raw = encode_current(2, 7, b"abc");
        let kv = decode_current("k", &raw).unwrap();
        assert_eq!((kv.create_revision, kv.mod_revision), (2, 7));
        assert_eq!(&kv.value[..], b"abc");

        let raw = encode_put(3, b"");
        let kv = decode_version("k", 9, &raw).unwrap().unwrap();
        assert_eq!((kv.create_revision, kv.mod_revision), (3, 9));
        assert!(kv.value.is_empty());

        assert_eq!(decode_version("k", 9, &encode_tombstone()).unwrap(), None);
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        assert!(decode_current("k", &[1, 2, 3]).is_err());
        assert!(decode_version("k", 1, &[]).is_err());
        assert!(decode_version("k", 1, &[TAG_PUT, 1]).is_err());
        assert!(is_tombstone("k", &[9]).is_err());
    }
}
