//! Blocking reads, each in one redb read transaction so that everything a
//! call returns comes from a single snapshot. Callers run these on tokio's
//! blocking pool.

use std::ops::Bound;

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable};

use super::schema::{
    CURRENT, EVENTS, HISTORY, META, META_COMPACTED, META_REVISION, current_revisions,
    decode_current, decode_version, internal,
};
use crate::backend::{Event, EventKind, KeyValue, RangeRequest, RangeResult, StoreError};

/// The revision window of one snapshot.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub current: i64,
    pub compacted: i64,
}

impl Bounds {
    /// Which revision a read asked for: `revision <= 0` means the current
    /// one (etcd treats non-positive revisions the same way).
    fn resolve(self, revision: i64) -> Result<i64, StoreError> {
        if revision <= 0 {
            Ok(self.current)
        } else if revision < self.compacted {
            Err(StoreError::Compacted {
                requested: revision,
                compacted: self.compacted,
            })
        } else if revision > self.current {
            Err(StoreError::FutureRevision {
                requested: revision,
                current: self.current,
            })
        } else {
            Ok(revision)
        }
    }
}

pub(super) fn begin(db: &Database) -> Result<ReadTransaction, StoreError> {
    db.begin_read().map_err(internal)
}

pub(super) fn bounds(txn: &ReadTransaction) -> Result<Bounds, StoreError> {
    let meta = txn.open_table(META).map_err(internal)?;
    let read = |name: &str| -> Result<i64, StoreError> {
        meta.get(name)
            .map_err(internal)?
            .map(|v| v.value())
            .ok_or_else(|| StoreError::Internal(format!("store metadata {name:?} is missing")))
    };
    Ok(Bounds {
        current: read(META_REVISION)?,
        compacted: read(META_COMPACTED)?,
    })
}

pub(super) fn snapshot_bounds(db: &Database) -> Result<Bounds, StoreError> {
    bounds(&begin(db)?)
}

pub(super) fn get(db: &Database, key: &str, revision: i64) -> Result<Option<KeyValue>, StoreError> {
    let txn = begin(db)?;
    let bounds = bounds(&txn)?;
    let at = bounds.resolve(revision)?;
    if at == bounds.current {
        let current = txn.open_table(CURRENT).map_err(internal)?;
        return match current.get(key).map_err(internal)? {
            Some(raw) => Ok(Some(decode_current(key, raw.value())?)),
            None => Ok(None),
        };
    }
    let history = txn.open_table(HISTORY).map_err(internal)?;
    version_at(&history, key, at)
}

/// The newest version of `key` at or before `revision`.
fn version_at(
    history: &impl ReadableTable<(&'static str, i64), &'static [u8]>,
    key: &str,
    revision: i64,
) -> Result<Option<KeyValue>, StoreError> {
    let mut versions = history
        .range((key, i64::MIN)..=(key, revision))
        .map_err(internal)?;
    match versions.next_back() {
        Some(entry) => {
            let (k, v) = entry.map_err(internal)?;
            decode_version(key, k.value().1, v.value())
        }
        None => Ok(None),
    }
}

/// Gathers the page a range returns while counting every match, as etcd
/// counts the whole range even when it returns only `limit` keys.
struct Collector {
    limit: usize,
    count_only: bool,
    kvs: Vec<KeyValue>,
    count: i64,
}

impl Collector {
    fn wants_value(&self) -> bool {
        !self.count_only && (self.limit == 0 || self.kvs.len() < self.limit)
    }

    fn finish(self, revision: i64) -> RangeResult {
        let more = self.limit > 0 && self.count > self.limit as i64;
        RangeResult {
            kvs: self.kvs,
            more,
            count: self.count,
            revision,
        }
    }
}

pub(super) fn range(db: &Database, req: &RangeRequest) -> Result<RangeResult, StoreError> {
    let txn = begin(db)?;
    let bounds = bounds(&txn)?;
    let at = bounds.resolve(req.revision)?;
    let mut out = Collector {
        limit: req.limit,
        count_only: req.count_only,
        kvs: Vec::new(),
        count: 0,
    };
    // Keys after `start_after` only matter when it sorts inside or after the
    // prefix; a `start_after` before the prefix is the same as none.
    let after = req
        .start_after
        .as_deref()
        .filter(|s| *s >= req.prefix.as_str());
    if at == bounds.current {
        range_current(&txn, &req.prefix, after, &mut out)?;
    } else {
        range_history(&txn, &req.prefix, after, at, &mut out)?;
    }
    Ok(out.finish(at))
}

fn range_current(
    txn: &ReadTransaction,
    prefix: &str,
    after: Option<&str>,
    out: &mut Collector,
) -> Result<(), StoreError> {
    let table = txn.open_table(CURRENT).map_err(internal)?;
    let lower = match after {
        Some(s) => Bound::Excluded(s),
        None => Bound::Included(prefix),
    };
    for entry in table
        .range::<&str>((lower, Bound::Unbounded))
        .map_err(internal)?
    {
        let (k, v) = entry.map_err(internal)?;
        let key = k.value();
        if !key.starts_with(prefix) {
            break;
        }
        out.count += 1;
        if out.wants_value() {
            out.kvs.push(decode_current(key, v.value())?);
        } else {
            // Still validate the record so corruption is reported, not skipped.
            current_revisions(key, v.value())?;
        }
    }
    Ok(())
}

/// A past-revision range walks every retained version under the prefix,
/// keeping per key the newest one at or before `at`. Compaction bounds the
/// versions per key, so this stays proportional to the history window.
fn range_history(
    txn: &ReadTransaction,
    prefix: &str,
    after: Option<&str>,
    at: i64,
    out: &mut Collector,
) -> Result<(), StoreError> {
    let table = txn.open_table(HISTORY).map_err(internal)?;
    let lower = match after {
        Some(s) => Bound::Excluded((s, i64::MAX)),
        None => Bound::Included((prefix, i64::MIN)),
    };
    let mut emit = |key: &str, revision: i64, raw: &[u8]| -> Result<(), StoreError> {
        if out.wants_value() {
            if let Some(kv) = decode_version(key, revision, raw)? {
                out.count += 1;
                out.kvs.push(kv);
            }
        } else if !super::schema::is_tombstone(key, raw)? {
            out.count += 1;
        }
        Ok(())
    };
    let mut pending: Option<(String, i64, redb::AccessGuard<'_, &'static [u8]>)> = None;
    for entry in table
        .range::<(&str, i64)>((lower, Bound::Unbounded))
        .map_err(internal)?
    {
        let (k, v) = entry.map_err(internal)?;
        let (key, revision) = k.value();
        if !key.starts_with(prefix) {
            break;
        }
        if revision > at {
            continue;
        }
        match &mut pending {
            Some((pkey, prev, guard)) if pkey == key => {
                *prev = revision;
                *guard = v;
            }
            _ => {
                if let Some((pkey, prev, guard)) = pending.take() {
                    emit(&pkey, prev, guard.value())?;
                }
                pending = Some((key.to_owned(), revision, v));
            }
        }
    }
    if let Some((pkey, prev, guard)) = pending {
        emit(&pkey, prev, guard.value())?;
    }
    Ok(())
}

/// Up to `max_scan` events with revision in `(after, upto]`, keeping those
/// under `prefix`. Returns them and the last revision examined, so the
/// caller resumes from there even when nothing matched.
pub(super) fn replay_chunk(
    db: &Database,
    prefix: &str,
    after: i64,
    upto: i64,
    max_scan: usize,
) -> Result<(Vec<Event>, i64), StoreError> {
    let txn = begin(db)?;
    let bounds = bounds(&txn)?;
    // Events before the compacted revision are gone; checking in the same
    // snapshot as the scan guarantees none is silently skipped.
    if after.saturating_add(1) < bounds.compacted {
        return Err(StoreError::Compacted {
            requested: after.saturating_add(1),
            compacted: bounds.compacted,
        });
    }
    let events = txn.open_table(EVENTS).map_err(internal)?;
    let history = txn.open_table(HISTORY).map_err(internal)?;
    let mut out = Vec::new();
    let mut last = after;
    let range = events
        .range::<i64>((Bound::Excluded(after), Bound::Included(upto)))
        .map_err(internal)?;
    for (scanned, entry) in range.enumerate() {
        if scanned == max_scan.max(1) {
            return Ok((out, last));
        }
        let (rev, key) = entry.map_err(internal)?;
        let (revision, key) = (rev.value(), key.value());
        last = revision;
        if key.starts_with(prefix) {
            out.push(event_at(&history, key, revision)?);
        }
    }
    Ok((out, upto))
}

/// Rebuilds the event of the write at `revision` to `key` from its history.
fn event_at(
    history: &impl ReadableTable<(&'static str, i64), &'static [u8]>,
    key: &str,
    revision: i64,
) -> Result<Event, StoreError> {
    let raw = history
        .get((key, revision))
        .map_err(internal)?
        .ok_or_else(|| {
            StoreError::Internal(format!("history of {key:?} at {revision} is missing"))
        })?;
    let after = decode_version(key, revision, raw.value())?;
    let prev = match revision.checked_sub(1) {
        Some(before) => version_at(history, key, before)?,
        None => None,
    };
    Ok(match after {
        Some(kv) => Event {
            kind: EventKind::Put,
            kv,
            prev,
        },
        None => Event {
            kind: EventKind::Delete,
            kv: tombstone_kv(key, revision),
            prev,
        },
    })
}

/// A delete as a watch reports it: the key, no value, the delete's revision.
pub(super) fn tombstone_kv(key: &str, revision: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: bytes::Bytes::new(),
        create_revision: 0,
        mod_revision: revision,
    }
}
