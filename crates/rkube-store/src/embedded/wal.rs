//! The write-ahead log that makes a batch durable without a redb fsync.
//!
//! A durable redb commit rewrites every B-tree page the batch touched (about
//! twenty random 4 KiB pages for a handful of creates) and waits for them;
//! appending the batch's changes to one file and waiting for that append
//! costs a fraction of it. So most batches commit to redb without
//! durability, after their changes are appended here and synced; every so
//! often a durable redb commit (a checkpoint) makes the log's contents
//! redundant and the log starts again from empty. After a crash, redb comes
//! back at its last checkpoint and the log's batches are applied again on
//! open.
//!
//! The log is synced *before* the batch's transaction commits, so readers
//! never see a change that a crash could take back, and a batch is
//! acknowledged only after both.
//!
//! # Format
//!
//! A sequence of records, each `[payload length: u32][crc32 of payload:
//! u32][payload]`, little-endian. A payload is the batch's changes in
//! revision order, each `[tag: u8][create revision: i64][mod revision:
//! i64][key length: u32][key][value length: u32][value]` (deletes have an
//! empty value). The first record that is torn, corrupt or all zeros ends
//! the log.
//!
//! # Space
//!
//! The file is filled with zeros ahead of the records, and a checkpoint
//! starts writing again from the beginning instead of truncating it: an
//! append then overwrites blocks that already exist, so its sync flushes
//! data alone, not the file-size and block-allocation changes that would
//! cost a journal commit each time. Whatever follows the newest records is
//! either zeros or older records, which are already in the database and
//! which replay skips (or which fail their checksum where a newer record
//! overwrote them in part).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::backend::{Event, EventKind, KeyValue, StoreError};

const TAG_PUT: u8 = 0;
const TAG_DELETE: u8 = 1;
const HEADER: usize = 8;
/// Zeros written ahead of the records at a time.
const PREALLOCATE: u64 = 4 << 20;

pub(super) struct Wal {
    file: File,
    path: PathBuf,
    /// Bytes of whole, synced records since the last checkpoint; the next
    /// append goes here.
    len: u64,
    /// Size of the file (records and the zeros or stale records after them).
    size: u64,
}

fn unavailable(path: &Path, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what} {}: {e}", path.display()))
}

impl Wal {
    /// Opens the log next to the database (creating it empty if missing)
    /// and reads every whole batch in it, oldest first.
    pub fn open(path: &Path) -> Result<(Wal, Vec<Vec<Event>>), StoreError> {
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| unavailable(path, "opening", e))?;
        if !existed {
            // The file's directory entry must be durable before anything
            // relies on the file's contents.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| unavailable(dir, "syncing", e))?;
            }
        }
        let mut raw = Vec::new();
        file.read_to_end(&mut raw)
            .map_err(|e| unavailable(path, "reading", e))?;
        let mut batches = Vec::new();
        let mut at = 0;
        while let Some((payload, next)) = next_record(&raw, at) {
            match decode_batch(payload) {
                Some(batch) => batches.push(batch),
                None => break,
            }
            at = next;
        }
        let wal = Wal {
            file,
            path: path.to_owned(),
            len: at as u64,
            size: raw.len() as u64,
        };
        Ok((wal, batches))
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends one batch and waits until it is on disk. A failed append
    /// leaves `len` where it was, so the next one overwrites whatever part
    /// of it reached the file.
    pub fn append(&mut self, events: &[Event]) -> Result<(), StoreError> {
        let payload = encode_batch(events);
        let mut record = Vec::with_capacity(HEADER + payload.len() + HEADER);
        record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        record.extend_from_slice(&payload);
        let end = self.len + record.len() as u64;
        // A zero header after the record ends the log there, rather than a
        // stale record that happens to follow (which replay would skip, but
        // reading it is wasted work).
        if end + HEADER as u64 <= self.size {
            record.extend_from_slice(&[0; HEADER]);
        } else {
            self.preallocate(end)?;
        }
        self.file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&record))
            .and_then(|_| self.file.sync_data())
            .map_err(|e| unavailable(&self.path, "appending to", e))?;
        self.len = end;
        Ok(())
    }

    /// Makes the file at least `end` bytes long (and then some), in zeros,
    /// synced, so that the appends up to there change no file metadata.
    fn preallocate(&mut self, end: u64) -> Result<(), StoreError> {
        let target = end.max(self.size) + PREALLOCATE;
        let zeros = vec![0u8; (target - self.size) as usize];
        self.file
            .seek(SeekFrom::Start(self.size))
            .and_then(|_| self.file.write_all(&zeros))
            .and_then(|_| self.file.sync_all())
            .map_err(|e| unavailable(&self.path, "growing", e))?;
        self.size = target;
        Ok(())
    }

    /// Starts the log again once a durable commit holds everything in it.
    /// The old records stay in the file until overwritten; see the module
    /// documentation for why that is safe.
    pub fn reset(&mut self) {
        self.len = 0;
    }
}

fn next_record(raw: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let header = raw.get(at..at + HEADER)?;
    let len = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
    let start = at + HEADER;
    let payload = raw.get(start..start.checked_add(len)?)?;
    (crc32fast::hash(payload) == crc).then_some((payload, start + len))
}

fn encode_batch(events: &[Event]) -> Vec<u8> {
    let size: usize = events
        .iter()
        .map(|e| 25 + e.kv.key.len() + e.kv.value.len())
        .sum();
    let mut out = Vec::with_capacity(size);
    for event in events {
        out.push(match event.kind {
            EventKind::Put => TAG_PUT,
            EventKind::Delete => TAG_DELETE,
        });
        out.extend_from_slice(&event.kv.create_revision.to_le_bytes());
        out.extend_from_slice(&event.kv.mod_revision.to_le_bytes());
        out.extend_from_slice(&(event.kv.key.len() as u32).to_le_bytes());
        out.extend_from_slice(event.kv.key.as_bytes());
        out.extend_from_slice(&(event.kv.value.len() as u32).to_le_bytes());
        out.extend_from_slice(&event.kv.value);
    }
    out
}

/// The changes of one record; the previous values are not logged (replay
/// finds them in the database).
fn decode_batch(mut raw: &[u8]) -> Option<Vec<Event>> {
    fn take<'a>(raw: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = raw.split_at_checked(n)?;
        *raw = rest;
        Some(head)
    }
    fn i64_of(raw: &mut &[u8]) -> Option<i64> {
        Some(i64::from_le_bytes(take(raw, 8)?.try_into().ok()?))
    }
    fn u32_of(raw: &mut &[u8]) -> Option<usize> {
        Some(u32::from_le_bytes(take(raw, 4)?.try_into().ok()?) as usize)
    }
    let mut events = Vec::new();
    while !raw.is_empty() {
        let kind = match take(&mut raw, 1)?[0] {
            TAG_PUT => EventKind::Put,
            TAG_DELETE => EventKind::Delete,
            _ => return None,
        };
        let create_revision = i64_of(&mut raw)?;
        let mod_revision = i64_of(&mut raw)?;
        let key_len = u32_of(&mut raw)?;
        let key = std::str::from_utf8(take(&mut raw, key_len)?)
            .ok()?
            .to_owned();
        let value_len = u32_of(&mut raw)?;
        let value = Bytes::copy_from_slice(take(&mut raw, value_len)?);
        events.push(Event {
            kind,
            kv: KeyValue {
                key,
                value,
                create_revision,
                mod_revision,
            },
            prev: None,
        });
    }
    (!events.is_empty()).then_some(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, rev: i64) -> Event {
        Event {
            kind: EventKind::Put,
            kv: KeyValue {
                key: key.into(),
                value: Bytes::from(format!("v{rev}")),
                create_revision: rev,
                mod_revision: rev,
            },
            prev: None,
        }
    }

    #[test]
    fn batches_round_trip_and_a_torn_tail_is_dropped() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("state.wal");
        let (mut wal, none) = Wal::open(&path).unwrap();
        assert!(none.is_empty());
        wal.append(&[put("/a", 2), put("/b", 3)]).unwrap();
        let mut delete = put("/a", 4);
        delete.kind = EventKind::Delete;
        delete.kv.value = Bytes::new();
        delete.kv.create_revision = 2;
        wal.append(&[delete.clone()]).unwrap();
        let whole = wal.len();
        // Half a record, as a crash in the middle of an append leaves it.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[40, 0, 0, 0, 1, 2]).unwrap();
        drop(f);

        let (mut wal, batches) = Wal::open(&path).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0], vec![put("/a", 2), put("/b", 3)]);
        assert_eq!(batches[1], vec![delete.clone()]);
        // The next append overwrites the torn tail.
        assert_eq!(wal.len(), whole);
        wal.append(&[put("/c", 5)]).unwrap();
        drop(wal);
        let (mut wal, batches) = Wal::open(&path).unwrap();
        assert_eq!(batches.len(), 3);
        // After a checkpoint, a new record overwrites the first old one and
        // ends the log there.
        wal.reset();
        wal.append(&[put("/d", 6)]).unwrap();
        drop(wal);
        assert_eq!(Wal::open(&path).unwrap().1, vec![vec![put("/d", 6)]]);
    }

    #[test]
    fn a_flipped_byte_ends_the_log_there() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("state.wal");
        let (mut wal, _) = Wal::open(&path).unwrap();
        wal.append(&[put("/a", 2)]).unwrap();
        let first = wal.len() as usize;
        wal.append(&[put("/b", 3)]).unwrap();
        let mut raw = std::fs::read(&path).unwrap();
        raw[first + HEADER + 3] ^= 0xff;
        std::fs::write(&path, raw).unwrap();
        let (_, batches) = Wal::open(&path).unwrap();
        assert_eq!(batches, vec![vec![put("/a", 2)]]);
    }
}
