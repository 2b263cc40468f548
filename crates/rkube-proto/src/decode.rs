//! Protobuf -> JSON: one walk over the wire bytes driven by the schema.
//!
//! A message's fields are first collected into slots (one per schema
//! field; repeated occurrences of a singular message field are kept as
//! chunks and merged, as protobuf merges them), then written in the
//! schema's (Go's) field order. Unknown fields are skipped.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::goformat;
use crate::schema::{Field, Message, MessageId, Scalar, Schema, Shape, Special, Type};
use crate::wire::{self, Reader};
use crate::{DecodeError, MAGIC};

/// Nesting limit for messages (and embedded objects) in one body.
pub const MAX_DEPTH: usize = 100;

/// What went wrong, before it becomes a [`DecodeError`].
pub(crate) enum Reason {
    Malformed(String),
    NotProtobuf,
    UnknownKind { api_version: String, kind: String },
    UnsupportedEncoding(String),
}

/// A decoding failure with the JSON path it happened at (innermost first).
pub(crate) struct Fail {
    path: Vec<String>,
    reason: Reason,
}

impl Fail {
    fn new(reason: impl Into<String>) -> Fail {
        Fail {
            path: Vec::new(),
            reason: Reason::Malformed(reason.into()),
        }
    }

    fn at(mut self, segment: impl Into<String>) -> Fail {
        let segment = segment.into();
        if !segment.is_empty() {
            self.path.push(segment);
        }
        self
    }

    pub(crate) fn into_error(self) -> DecodeError {
        let mut path = String::new();
        for seg in self.path.iter().rev() {
            if !path.is_empty() && !seg.starts_with('[') {
                path.push('.');
            }
            path.push_str(seg);
        }
        match self.reason {
            Reason::NotProtobuf if path.is_empty() => DecodeError::NotProtobuf,
            Reason::UnknownKind { api_version, kind } if path.is_empty() => {
                DecodeError::UnknownKind { api_version, kind }
            }
            Reason::UnsupportedEncoding(e) if path.is_empty() => {
                DecodeError::UnsupportedEncoding(e)
            }
            Reason::Malformed(reason) => DecodeError::Malformed { path, reason },
            // The same failures inside an embedded object (RawExtension).
            Reason::NotProtobuf => DecodeError::Malformed {
                path,
                reason: "not a protobuf object".into(),
            },
            Reason::UnknownKind { api_version, kind } => DecodeError::Malformed {
                path,
                reason: format!("no kind {kind:?} is registered for version {api_version:?}"),
            },
            Reason::UnsupportedEncoding(e) => DecodeError::Malformed {
                path,
                reason: format!("unsupported content encoding {e:?}"),
            },
        }
    }
}

impl From<String> for Fail {
    fn from(reason: String) -> Fail {
        Fail::new(reason)
    }
}

type R<T> = Result<T, Fail>;

/// A scalar as read off the wire; bytes stay raw until written.
enum Raw<'a> {
    Value(Value),
    Bytes(&'a [u8]),
}

enum Slot<'a> {
    Empty,
    Scalar(Raw<'a>),
    /// Chunks of a singular message field, merged in order.
    Message(Vec<&'a [u8]>),
    Scalars(Vec<Raw<'a>>),
    Messages(Vec<&'a [u8]>),
    /// Map entries, each a `{1: key, 2: value}` message.
    Entries(Vec<&'a [u8]>),
}

pub(crate) struct Decoder<'s> {
    pub schema: &'s Schema,
    pub depth: usize,
}

fn read_scalar<'a>(s: Scalar, wire_type: u8, r: &mut Reader<'a>) -> R<Raw<'a>> {
    let expect = match s {
        Scalar::String | Scalar::Bytes => wire::LEN,
        Scalar::Double => wire::FIXED64,
        Scalar::Bool | Scalar::Int32 | Scalar::Int64 => wire::VARINT,
    };
    if wire_type != expect {
        return Err(Fail::new(format!(
            "wrong wire type {wire_type} for a {s:?} field"
        )));
    }
    Ok(match s {
        Scalar::String => Raw::Value(Value::String(
            String::from_utf8_lossy(r.bytes()?).into_owned(),
        )),
        Scalar::Bytes => Raw::Bytes(r.bytes()?),
        Scalar::Bool => Raw::Value(Value::Bool(r.varint()? != 0)),
        // int32 is sign-extended to 64 bits on the wire; keep the low 32.
        Scalar::Int32 => Raw::Value(Value::from(r.varint()? as i32)),
        Scalar::Int64 => Raw::Value(Value::from(r.varint()? as i64)),
        Scalar::Double => Raw::Value(double(f64::from_bits(r.fixed64()?))?),
    })
}

/// A float as Go's JSON writes it: integral values without a fraction.
fn double(f: f64) -> R<Value> {
    if !f.is_finite() {
        return Err(Fail::new(format!("unsupported float value {f}")));
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Ok(Value::from(f as i64));
    }
    Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
}

fn zero_scalar(s: Scalar) -> Raw<'static> {
    match s {
        Scalar::String => Raw::Value(Value::String(String::new())),
        Scalar::Bytes => Raw::Bytes(&[]),
        Scalar::Bool => Raw::Value(Value::Bool(false)),
        Scalar::Int32 | Scalar::Int64 | Scalar::Double => Raw::Value(Value::from(0)),
    }
}

fn raw_to_json(raw: Raw<'_>) -> Value {
    match raw {
        Raw::Value(v) => v,
        Raw::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
    }
}

/// Go's zero value test for `omitempty` on scalars and `omitzero`.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_zero),
    }
}

/// The collected fields of one message.
struct Slots<'a, 'm> {
    msg: &'m Message,
    slots: Vec<Slot<'a>>,
}

impl<'a, 'm> Slots<'a, 'm> {
    fn bytes(&self, tag: u32) -> Option<&'a [u8]> {
        let (i, _) = self.msg.field_by_tag(tag)?;
        match &self.slots[i] {
            Slot::Scalar(Raw::Bytes(b)) => Some(b),
            _ => None,
        }
    }

    fn take(&mut self, tag: u32) -> Option<(&'m Field, Slot<'a>)> {
        let (i, f) = self.msg.field_by_tag(tag)?;
        Some((f, std::mem::replace(&mut self.slots[i], Slot::Empty)))
    }
}

impl Decoder<'_> {
    fn collect<'a, 'm>(&self, msg: &'m Message, chunks: &[&'a [u8]]) -> R<Slots<'a, 'm>> {
        let mut slots: Vec<Slot<'a>> = msg.fields.iter().map(|_| Slot::Empty).collect();
        for chunk in chunks {
            let mut r = Reader::new(chunk);
            while !r.is_empty() {
                let (tag, wt) = r.key()?;
                let Some((idx, f)) = msg.field_by_tag(tag) else {
                    r.skip(wt)?;
                    continue;
                };
                self.read_field(f, wt, &mut r, &mut slots[idx])
                    .map_err(|e| e.at(name_of(f)))?;
            }
        }
        Ok(Slots { msg, slots })
    }

    fn read_field<'a>(&self, f: &Field, wt: u8, r: &mut Reader<'a>, slot: &mut Slot<'a>) -> R<()> {
        match (f.shape, f.ty) {
            (Shape::Single, Type::Scalar(s)) => *slot = Slot::Scalar(read_scalar(s, wt, r)?),
            (Shape::Single, Type::Message(_)) => {
                let b = len_payload(wt, r)?;
                match slot {
                    Slot::Message(chunks) => chunks.push(b),
                    _ => *slot = Slot::Message(vec![b]),
                }
            }
            (Shape::Repeated, Type::Scalar(s)) => {
                let mut read = Vec::new();
                let packable = !matches!(s, Scalar::String | Scalar::Bytes);
                if packable && wt == wire::LEN {
                    let inner = if s == Scalar::Double {
                        wire::FIXED64
                    } else {
                        wire::VARINT
                    };
                    let mut packed = Reader::new(r.bytes()?);
                    while !packed.is_empty() {
                        read.push(read_scalar(s, inner, &mut packed)?);
                    }
                } else {
                    read.push(read_scalar(s, wt, r)?);
                }
                match slot {
                    Slot::Scalars(items) => items.extend(read),
                    _ => *slot = Slot::Scalars(read),
                }
            }
            (Shape::Repeated, Type::Message(_)) => {
                let b = len_payload(wt, r)?;
                match slot {
                    Slot::Messages(items) => items.push(b),
                    _ => *slot = Slot::Messages(vec![b]),
                }
            }
            (Shape::Map(_), _) => {
                let b = len_payload(wt, r)?;
                match slot {
                    Slot::Entries(items) => items.push(b),
                    _ => *slot = Slot::Entries(vec![b]),
                }
            }
        }
        Ok(())
    }

    /// The JSON value of a message of type `id` made of `chunks`.
    pub(crate) fn message(&self, id: MessageId, chunks: &[&[u8]]) -> R<Value> {
        if self.depth >= MAX_DEPTH {
            return Err(Fail::new("too deeply nested"));
        }
        let inner = Decoder {
            schema: self.schema,
            depth: self.depth + 1,
        };
        let msg = self.schema.message(id);
        let mut slots = inner.collect(msg, chunks)?;
        if let Some(special) = msg.special {
            return inner.special(special, &mut slots, chunks);
        }
        if msg.array {
            let tag = msg.fields[0].tag;
            return Ok(match slots.take(tag) {
                Some((f, slot)) => inner.finish(f, slot)?.unwrap_or(Value::Array(Vec::new())),
                None => Value::Array(Vec::new()),
            });
        }
        let mut out = Map::new();
        for (f, slot) in msg.fields.iter().zip(slots.slots) {
            let Some(v) = inner.finish(f, slot).map_err(|e| e.at(name_of(f)))? else {
                continue;
            };
            if f.omitzero && is_zero(&v)
                || f.omitempty && matches!(f.ty, Type::Scalar(_)) && is_zero(&v)
            {
                continue;
            }
            match (f.inline, v) {
                (true, Value::Object(inner_fields)) => out.extend(inner_fields),
                (true, _) => {}
                (false, v) => {
                    out.insert(f.json.clone(), v);
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// The JSON value of a collected field, or None when it is absent.
    fn finish(&self, f: &Field, slot: Slot<'_>) -> R<Option<Value>> {
        let message_id = |ty: Type| match ty {
            Type::Message(id) => Ok(id),
            Type::Scalar(_) => Err(Fail::new("schema mismatch")),
        };
        Ok(Some(match slot {
            Slot::Empty => return Ok(None),
            Slot::Scalar(raw) => raw_to_json(raw),
            Slot::Message(chunks) => self.message(message_id(f.ty)?, &chunks)?,
            Slot::Scalars(items) if items.is_empty() => return Ok(None),
            Slot::Scalars(items) => Value::Array(items.into_iter().map(raw_to_json).collect()),
            Slot::Messages(items) => {
                let id = message_id(f.ty)?;
                let mut out = Vec::with_capacity(items.len());
                for (i, b) in items.iter().enumerate() {
                    out.push(self.message(id, &[b]).map_err(|e| e.at(format!("[{i}]")))?);
                }
                Value::Array(out)
            }
            Slot::Entries(entries) => {
                let Shape::Map(key_type) = f.shape else {
                    return Err(Fail::new("schema mismatch"));
                };
                let mut pairs = Vec::with_capacity(entries.len());
                for entry in entries {
                    let (k, v) = self.entry(key_type, f.ty, entry)?;
                    pairs.push((k, v));
                }
                // Go writes map keys sorted; later duplicates win.
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                let mut out = Map::new();
                for (k, v) in pairs {
                    out.insert(k, v);
                }
                Value::Object(out)
            }
        }))
    }

    fn entry(&self, key_type: Scalar, value_type: Type, entry: &[u8]) -> R<(String, Value)> {
        let mut r = Reader::new(entry);
        let mut key = zero_scalar(key_type);
        let mut value_raw = None;
        let mut value_chunks = Vec::new();
        while !r.is_empty() {
            match r.key()? {
                (1, wt) => key = read_scalar(key_type, wt, &mut r)?,
                (2, wt) => match value_type {
                    Type::Scalar(s) => value_raw = Some(read_scalar(s, wt, &mut r)?),
                    Type::Message(_) => value_chunks.push(len_payload(wt, &mut r)?),
                },
                (_, wt) => r.skip(wt)?,
            }
        }
        let key = match raw_to_json(key) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let value = match value_type {
            Type::Scalar(s) => raw_to_json(value_raw.unwrap_or_else(|| zero_scalar(s))),
            Type::Message(id) => self
                .message(id, &value_chunks)
                .map_err(|e| e.at(key.clone()))?,
        };
        Ok((key, value))
    }

    /// Messages with their own JSON form. `slots` holds their fields.
    fn special(&self, special: Special, slots: &mut Slots<'_, '_>, chunks: &[&[u8]]) -> R<Value> {
        let mut field = |tag: u32| -> R<Option<Value>> {
            match slots.take(tag) {
                Some((f, slot)) => self.finish(f, slot),
                None => Ok(None),
            }
        };
        let int = |v: Option<Value>| v.and_then(|v| v.as_i64()).unwrap_or(0);
        let unset = chunks.iter().all(|c| c.is_empty());
        Ok(match special {
            // Go keeps only whole seconds of a Time read from protobuf.
            Special::Time if unset => Value::Null,
            Special::Time => Value::String(goformat::format_time(int(field(1)?), 0, false)?),
            Special::MicroTime if unset => Value::Null,
            Special::MicroTime => {
                let (secs, nanos) = (int(field(1)?), int(field(2)?));
                Value::String(goformat::format_time(secs, nanos, true)?)
            }
            Special::Duration => Value::String(goformat::format_duration(int(field(1)?))),
            Special::Quantity => match field(1)? {
                Some(Value::String(s)) if !s.is_empty() => Value::String(s),
                _ => Value::String("0".into()),
            },
            Special::IntOrString => match int(field(1)?) {
                0 => Value::from(int(field(2)?)),
                1 => field(3)?.unwrap_or_else(|| Value::String(String::new())),
                t => {
                    return Err(Fail::new(format!(
                        "IntOrString type {t} is neither 0 (int) nor 1 (string)"
                    )));
                }
            },
            Special::RawExtension | Special::RawJson => match slots.bytes(1) {
                None | Some([]) => Value::Null,
                Some(raw) if special == Special::RawExtension && raw.starts_with(&MAGIC) => {
                    let nested = Decoder {
                        schema: self.schema,
                        depth: self.depth + 1,
                    };
                    nested.envelope(raw)?
                }
                Some(raw) => serde_json::from_slice(raw)
                    .map_err(|e| Fail::new(format!("embedded JSON is not valid: {e}")))?,
            },
            Special::SchemaOrBool => match field(2)? {
                Some(schema) => schema,
                None => Value::Bool(field(1)?.and_then(|v| v.as_bool()).unwrap_or(false)),
            },
            Special::SchemaOrArray | Special::SchemaOrStringArray => {
                let (schema_tag, list_tag) = (1, 2);
                match field(list_tag)? {
                    Some(Value::Array(items)) if !items.is_empty() => Value::Array(items),
                    _ => field(schema_tag)?.unwrap_or(Value::Null),
                }
            }
        })
    }

    /// Decodes `k8s\0` + `runtime.Unknown` into the object's JSON, with
    /// `kind` and `apiVersion` first (Go's TypeMeta order).
    pub(crate) fn envelope(&self, body: &[u8]) -> Result<Value, Fail> {
        let fail = |reason| Fail {
            path: Vec::new(),
            reason,
        };
        let rest = body
            .strip_prefix(&MAGIC)
            .ok_or_else(|| fail(Reason::NotProtobuf))?;
        let env = Envelope::read(rest)?;
        if !env.content_encoding.is_empty() {
            return Err(fail(Reason::UnsupportedEncoding(env.content_encoding)));
        }
        let (api_version, kind) = (env.api_version, env.kind);
        let id = self
            .schema
            .lookup_kind(&api_version, &kind)
            .ok_or_else(|| {
                fail(Reason::UnknownKind {
                    api_version: api_version.clone(),
                    kind: kind.clone(),
                })
            })?;
        let Value::Object(fields) = self.message(id, &[env.raw])? else {
            return Err(Fail::new(format!("{kind} is not an object type")));
        };
        let mut out = Map::new();
        out.insert("kind".into(), Value::String(kind));
        out.insert("apiVersion".into(), Value::String(api_version));
        // The envelope's type wins over any same-named property.
        out.extend(
            fields
                .into_iter()
                .filter(|(k, _)| k != "kind" && k != "apiVersion"),
        );
        Ok(Value::Object(out))
    }
}

/// The fields of a `runtime.Unknown`: typeMeta (1: apiVersion, 2: kind),
/// raw (2), contentEncoding (3), contentType (4).
pub(crate) struct Envelope<'a> {
    pub api_version: String,
    pub kind: String,
    pub raw: &'a [u8],
    pub content_encoding: String,
}

impl<'a> Envelope<'a> {
    pub(crate) fn read(bytes: &'a [u8]) -> R<Envelope<'a>> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut env = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
            content_encoding: String::new(),
        };
        let mut r = Reader::new(bytes);
        while !r.is_empty() {
            match r.key()? {
                (1, wire::LEN) => {
                    let mut tm = Reader::new(r.bytes()?);
                    while !tm.is_empty() {
                        match tm.key()? {
                            (1, wire::LEN) => env.api_version = text(tm.bytes()?),
                            (2, wire::LEN) => env.kind = text(tm.bytes()?),
                            (_, wt) => tm.skip(wt)?,
                        }
                    }
                }
                (2, wire::LEN) => env.raw = r.bytes()?,
                (3, wire::LEN) => env.content_encoding = text(r.bytes()?),
                (tag @ 1..=3, wt) => {
                    return Err(Fail::new(format!(
                        "wrong wire type {wt} for envelope field {tag}"
                    )));
                }
                (_, wt) => r.skip(wt)?,
            }
        }
        Ok(env)
    }
}

fn len_payload<'a>(wt: u8, r: &mut Reader<'a>) -> R<&'a [u8]> {
    if wt != wire::LEN {
        return Err(Fail::new(format!(
            "wrong wire type {wt} for a message field"
        )));
    }
    Ok(r.bytes()?)
}

fn name_of(f: &Field) -> String {
    if f.inline {
        String::new()
    } else {
        f.json.clone()
    }
}
