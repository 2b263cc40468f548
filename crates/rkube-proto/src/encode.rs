//! JSON -> protobuf, the inverse of [`crate::decode`] over the same schema.
//!
//! Fields are written in tag order, repeated scalars unpacked and map
//! entries sorted by key, as Go's generated marshallers do. JSON properties
//! the schema does not know are ignored and `null` means absent.

use base64::Engine as _;
use serde_json::Value;

use crate::schema::{Field, MessageId, Scalar, Schema, Shape, Special, Type};
use crate::wire::Writer;
use crate::{EncodeError, MAGIC, goformat};

struct Fail {
    path: Vec<String>,
    reason: String,
}

impl Fail {
    fn new(reason: impl Into<String>) -> Fail {
        Fail {
            path: Vec::new(),
            reason: reason.into(),
        }
    }

    fn at(mut self, segment: impl Into<String>) -> Fail {
        let s = segment.into();
        if !s.is_empty() {
            self.path.push(s);
        }
        self
    }
}

impl From<String> for Fail {
    fn from(reason: String) -> Fail {
        Fail::new(reason)
    }
}

type R<T> = Result<T, Fail>;

pub(crate) fn encode(schema: &Schema, value: &Value) -> Result<Vec<u8>, EncodeError> {
    let obj = value.as_object().ok_or_else(|| EncodeError::Invalid {
        path: String::new(),
        reason: "an object is needed".into(),
    })?;
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    let id = schema
        .lookup_kind(&api_version, &kind)
        .ok_or_else(|| EncodeError::UnknownKind {
            api_version: api_version.clone(),
            kind: kind.clone(),
        })?;
    let enc = Encoder { schema, depth: 0 };
    let raw = enc.message(id, value).map_err(|f| {
        let mut path = String::new();
        for seg in f.path.iter().rev() {
            if !path.is_empty() && !seg.starts_with('[') {
                path.push('.');
            }
            path.push_str(seg);
        }
        EncodeError::Invalid {
            path,
            reason: f.reason,
        }
    })?;
    let mut type_meta = Writer::default();
    type_meta.len_field(1, api_version.as_bytes());
    type_meta.len_field(2, kind.as_bytes());
    let mut w = Writer {
        buf: MAGIC.to_vec(),
    };
    w.len_field(1, &type_meta.buf);
    w.len_field(2, &raw);
    w.len_field(3, b"");
    w.len_field(4, b"");
    Ok(w.buf)
}

struct Encoder<'s> {
    schema: &'s Schema,
    depth: usize,
}

fn as_i64(v: &Value) -> R<i64> {
    v.as_i64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        })
        .ok_or_else(|| Fail::new(format!("expected an integer, got {v}")))
}

fn as_str(v: &Value) -> R<&str> {
    v.as_str()
        .ok_or_else(|| Fail::new(format!("expected a string, got {v}")))
}

fn write_scalar(w: &mut Writer, tag: u32, s: Scalar, v: &Value) -> R<()> {
    match s {
        Scalar::String => w.len_field(tag, as_str(v)?.as_bytes()),
        Scalar::Bytes => {
            let b = base64::engine::general_purpose::STANDARD
                .decode(as_str(v)?)
                .map_err(|e| Fail::new(format!("invalid base64: {e}")))?;
            w.len_field(tag, &b);
        }
        Scalar::Bool => w.varint_field(
            tag,
            u64::from(v.as_bool().ok_or_else(|| Fail::new("expected a bool"))?),
        ),
        Scalar::Int32 => {
            let n = i32::try_from(as_i64(v)?)
                .map_err(|_| Fail::new(format!("{v} does not fit in int32")))?;
            w.varint_field(tag, i64::from(n) as u64);
        }
        Scalar::Int64 => w.varint_field(tag, as_i64(v)? as u64),
        Scalar::Double => {
            w.fixed64_field(
                tag,
                v.as_f64()
                    .ok_or_else(|| Fail::new("expected a number"))?
                    .to_bits(),
            );
        }
    }
    Ok(())
}

impl Encoder<'_> {
    fn nested(&self) -> R<Encoder<'_>> {
        if self.depth >= crate::decode::MAX_DEPTH {
            return Err(Fail::new("too deeply nested"));
        }
        Ok(Encoder {
            schema: self.schema,
            depth: self.depth + 1,
        })
    }

    /// The payload of a message of type `id` from its JSON value.
    fn message(&self, id: MessageId, v: &Value) -> R<Vec<u8>> {
        let inner = self.nested()?;
        let msg = self.schema.message(id);
        let mut w = Writer::default();
        if let Some(special) = msg.special {
            inner.special(special, msg.fields.as_slice(), v, &mut w)?;
            return Ok(w.buf);
        }
        if msg.array {
            inner.field(&msg.fields[0], v, &mut w)?;
            return Ok(w.buf);
        }
        let obj = v
            .as_object()
            .ok_or_else(|| Fail::new(format!("expected an object, got {v}")))?;
        let mut fields: Vec<&Field> = msg.fields.iter().collect();
        fields.sort_by_key(|f| f.tag);
        for f in fields {
            if f.inline {
                let Type::Message(sub) = f.ty else { continue };
                let payload = inner.message(sub, v)?;
                if !payload.is_empty() {
                    w.len_field(f.tag, &payload);
                }
            } else if let Some(value) = obj.get(&f.json) {
                if value.is_null() {
                    // A null time is a zero time: Go writes it as an empty message.
                    let zero_time = matches!(f.ty, Type::Message(t)
                        if matches!(self.schema.message(t).special, Some(Special::Time | Special::MicroTime)));
                    if zero_time && f.shape == Shape::Single {
                        w.len_field(f.tag, &[]);
                    }
                    continue;
                }
                inner
                    .field(f, value, &mut w)
                    .map_err(|e| e.at(f.json.clone()))?;
            }
        }
        Ok(w.buf)
    }

    fn field(&self, f: &Field, v: &Value, w: &mut Writer) -> R<()> {
        match f.shape {
            Shape::Single => self.single(f.tag, f.ty, v, w),
            Shape::Repeated => {
                let items = v
                    .as_array()
                    .ok_or_else(|| Fail::new(format!("expected an array, got {v}")))?;
                for (i, item) in items.iter().enumerate() {
                    self.single(f.tag, f.ty, item, w)
                        .map_err(|e| e.at(format!("[{i}]")))?;
                }
                Ok(())
            }
            Shape::Map(key_type) => {
                let obj = v
                    .as_object()
                    .ok_or_else(|| Fail::new(format!("expected an object, got {v}")))?;
                let mut keys: Vec<&String> = obj.keys().collect();
                keys.sort();
                for k in keys {
                    let mut entry = Writer::default();
                    let key = match key_type {
                        Scalar::String => Value::String(k.clone()),
                        _ => serde_json::from_str(k)
                            .map_err(|_| Fail::new(format!("bad map key {k:?}")))?,
                    };
                    write_scalar(&mut entry, 1, key_type, &key)?;
                    let value = &obj[k];
                    if !value.is_null() {
                        self.single(2, f.ty, value, &mut entry)
                            .map_err(|e| e.at(k.clone()))?;
                    }
                    w.len_field(f.tag, &entry.buf);
                }
                Ok(())
            }
        }
    }

    fn single(&self, tag: u32, ty: Type, v: &Value, w: &mut Writer) -> R<()> {
        match ty {
            Type::Scalar(s) => write_scalar(w, tag, s, v),
            Type::Message(id) => {
                let payload = self.message(id, v)?;
                w.len_field(tag, &payload);
                Ok(())
            }
        }
    }

    /// The fields of a special message from its JSON form.
    fn special(&self, special: Special, fields: &[Field], v: &Value, w: &mut Writer) -> R<()> {
        let field = |tag: u32| {
            fields
                .iter()
                .find(|f| f.tag == tag)
                .ok_or_else(|| Fail::new("schema mismatch"))
        };
        match special {
            Special::Time | Special::MicroTime => {
                if v.is_null() {
                    return Ok(());
                }
                let (secs, nanos) = goformat::parse_time(as_str(v)?)?;
                w.varint_field(1, secs as u64);
                let nanos = if special == Special::MicroTime {
                    nanos / 1000 * 1000
                } else {
                    0
                };
                w.varint_field(2, i64::from(nanos) as u64);
            }
            Special::Duration => w.varint_field(1, goformat::parse_duration(as_str(v)?)? as u64),
            Special::Quantity => {
                let text = match v {
                    Value::Number(n) => n.to_string(),
                    _ => as_str(v)?.to_string(),
                };
                w.len_field(1, text.as_bytes());
            }
            Special::IntOrString => match v {
                Value::String(s) => {
                    w.varint_field(1, 1);
                    w.varint_field(2, 0);
                    w.len_field(3, s.as_bytes());
                }
                _ => {
                    let n = i32::try_from(as_i64(v)?)
                        .map_err(|_| Fail::new(format!("{v} does not fit in int32")))?;
                    w.varint_field(1, 0);
                    w.varint_field(2, i64::from(n) as u64);
                    w.len_field(3, b"");
                }
            },
            Special::RawExtension | Special::RawJson => {
                if !v.is_null() {
                    w.len_field(
                        1,
                        serde_json::to_string(v)
                            .map_err(|e| Fail::new(e.to_string()))?
                            .as_bytes(),
                    );
                }
            }
            Special::SchemaOrBool => match v {
                Value::Bool(b) => w.varint_field(1, u64::from(*b)),
                _ => {
                    w.varint_field(1, 1);
                    self.single(2, field(2)?.ty, v, w)?;
                }
            },
            Special::SchemaOrArray | Special::SchemaOrStringArray => match v {
                Value::Array(_) => self.field(field(2)?, v, w)?,
                Value::Null => {}
                _ => self.single(1, field(1)?.ty, v, w)?,
            },
        }
        Ok(())
    }
}
