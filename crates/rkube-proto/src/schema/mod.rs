//! The schema table: every Kubernetes protobuf message, its fields and how
//! each maps to JSON. Built once from the generated text file
//! `schema/kubernetes.schema` (see the crate docs for how it is made).

pub mod text;

use std::collections::HashMap;
use std::sync::OnceLock;

use text::{RawCard, RawSchema};

/// The generated table for the served Kubernetes version.
pub const BUILTIN_TEXT: &str = include_str!("../../schema/kubernetes.schema");

/// The scalar wire types the Kubernetes protos use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
}

impl Scalar {
    fn parse(s: &str) -> Option<Scalar> {
        Some(match s {
            "string" => Scalar::String,
            "bytes" => Scalar::Bytes,
            "bool" => Scalar::Bool,
            "int32" => Scalar::Int32,
            "int64" => Scalar::Int64,
            "double" => Scalar::Double,
            _ => return None,
        })
    }
}

/// Index of a message in a [`Schema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageId(pub(crate) usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Scalar(Scalar),
    Message(MessageId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Single,
    Repeated,
    /// A map with keys of this scalar type (map entries on the wire).
    Map(Scalar),
}

#[derive(Clone, Debug)]
pub struct Field {
    pub tag: u32,
    /// JSON property name; empty when `inline`.
    pub json: String,
    pub shape: Shape,
    /// Element type for repeated fields, value type for maps.
    pub ty: Type,
    /// Go non-pointer field tagged `omitempty`: a zero scalar is not written.
    pub omitempty: bool,
    /// Go `omitzero`: a zero value (of any type) is not written.
    pub omitzero: bool,
    /// Go embedded struct: its fields are written into the parent object.
    pub inline: bool,
}

/// Messages whose JSON form is not an object of their fields. Each is
/// handled once per direction (`Decoder::special`, `Encoder::special`),
/// whatever package it is used from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `meta.v1.Time`: RFC 3339 seconds, `null` when unset.
    Time,
    /// `meta.v1.MicroTime`: RFC 3339 with microseconds, `null` when unset.
    MicroTime,
    /// `meta.v1.Duration`: Go duration string (`1h0m0s`).
    Duration,
    /// `resource.Quantity`: its string.
    Quantity,
    /// `intstr.IntOrString`: a number or a string.
    IntOrString,
    /// `runtime.RawExtension`: embedded JSON (or an embedded protobuf object).
    RawExtension,
    /// `meta.v1.FieldsV1`, `apiextensions JSON`: raw JSON bytes.
    RawJson,
    /// `JSONSchemaPropsOrBool`: a schema object or a bool.
    SchemaOrBool,
    /// `JSONSchemaPropsOrArray`: a schema object or an array of schemas.
    SchemaOrArray,
    /// `JSONSchemaPropsOrStringArray`: a schema object or an array of strings.
    SchemaOrStringArray,
}

const APIEXT: [&str; 2] = [
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.",
];

impl Special {
    fn for_message(name: &str) -> Option<Special> {
        Some(match name {
            "k8s.io.apimachinery.pkg.apis.meta.v1.Time" => Special::Time,
            "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime" => Special::MicroTime,
            "k8s.io.apimachinery.pkg.apis.meta.v1.Duration" => Special::Duration,
            "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1" => Special::RawJson,
            "k8s.io.apimachinery.pkg.api.resource.Quantity" => Special::Quantity,
            "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => Special::IntOrString,
            "k8s.io.apimachinery.pkg.runtime.RawExtension" => Special::RawExtension,
            _ => {
                let short = APIEXT.iter().find_map(|p| name.strip_prefix(p))?;
                match short {
                    "JSON" => Special::RawJson,
                    "JSONSchemaPropsOrBool" => Special::SchemaOrBool,
                    "JSONSchemaPropsOrArray" => Special::SchemaOrArray,
                    "JSONSchemaPropsOrStringArray" => Special::SchemaOrStringArray,
                    _ => return None,
                }
            }
        })
    }
}

#[derive(Clone, Debug)]
pub struct Message {
    /// Fully qualified proto name, e.g. `k8s.io.api.core.v1.Pod`.
    pub name: String,
    /// JSON is the array of the lone repeated field (Go named slice types).
    pub array: bool,
    pub special: Option<Special>,
    /// In JSON order.
    pub fields: Vec<Field>,
    /// (tag, index into `fields`), sorted by tag.
    by_tag: Vec<(u32, usize)>,
    by_json: HashMap<String, usize>,
}

impl Message {
    /// The field with this tag and its index in [`Message::fields`].
    pub fn field_by_tag(&self, tag: u32) -> Option<(usize, &Field)> {
        let i = self.by_tag.binary_search_by_key(&tag, |&(t, _)| t).ok()?;
        let idx = self.by_tag[i].1;
        Some((idx, &self.fields[idx]))
    }

    /// The (non-inline) field with this JSON name.
    pub fn field_by_json(&self, json: &str) -> Option<(usize, &Field)> {
        let idx = *self.by_json.get(json)?;
        Some((idx, &self.fields[idx]))
    }
}

/// Kinds every group version accepts, defined once in `meta.k8s.io/v1`.
const SHARED_KINDS: &[&str] = &[
    "CreateOptions",
    "DeleteOptions",
    "GetOptions",
    "ListOptions",
    "PatchOptions",
    "UpdateOptions",
    "Status",
    "WatchEvent",
    "APIVersions",
    "APIGroup",
    "APIGroupList",
    "APIResourceList",
];

/// The resolved table.
#[derive(Debug)]
pub struct Schema {
    messages: Vec<Message>,
    by_name: HashMap<String, MessageId>,
    /// `apps/v1` -> `k8s.io.api.apps.v1`.
    packages_by_gv: HashMap<String, String>,
}

impl Schema {
    /// Builds a schema from its text form, resolving every message name.
    pub fn parse(text: &str) -> Result<Schema, String> {
        Schema::from_raw(&RawSchema::parse(text)?)
    }

    pub fn from_raw(raw: &RawSchema) -> Result<Schema, String> {
        let mut by_name = HashMap::new();
        let mut packages_by_gv = HashMap::new();
        for pkg in &raw.packages {
            if let Some(gv) = &pkg.group_version {
                packages_by_gv.insert(gv.clone(), pkg.name.clone());
            }
            for msg in &pkg.messages {
                let full = format!("{}.{}", pkg.name, msg.name);
                let id = MessageId(by_name.len());
                if by_name.insert(full.clone(), id).is_some() {
                    return Err(format!("message {full} defined twice"));
                }
            }
        }
        let mut messages = Vec::with_capacity(by_name.len());
        for pkg in &raw.packages {
            for msg in &pkg.messages {
                let name = format!("{}.{}", pkg.name, msg.name);
                let mut fields = Vec::with_capacity(msg.fields.len());
                for f in &msg.fields {
                    let ty =
                        match Scalar::parse(&f.ty) {
                            Some(s) => Type::Scalar(s),
                            None => Type::Message(*by_name.get(&f.ty).ok_or_else(|| {
                                format!("{name}.{}: unknown type {}", f.tag, f.ty)
                            })?),
                        };
                    let shape = match &f.card {
                        RawCard::Single => Shape::Single,
                        RawCard::Repeated => Shape::Repeated,
                        RawCard::Map(k) => Shape::Map(
                            Scalar::parse(k)
                                .ok_or_else(|| format!("{name}.{}: bad map key", f.tag))?,
                        ),
                    };
                    if f.inline != f.json.is_empty()
                        || (f.inline && !matches!(ty, Type::Message(_)))
                    {
                        return Err(format!(
                            "{name}.{}: inline fields are unnamed messages",
                            f.tag
                        ));
                    }
                    fields.push(Field {
                        tag: f.tag,
                        json: f.json.clone(),
                        shape,
                        ty,
                        omitempty: f.omitempty,
                        omitzero: f.omitzero,
                        inline: f.inline,
                    });
                }
                let mut by_tag: Vec<(u32, usize)> =
                    fields.iter().enumerate().map(|(i, f)| (f.tag, i)).collect();
                by_tag.sort_unstable();
                if by_tag.windows(2).any(|w| w[0].0 == w[1].0)
                    || by_tag.first().is_some_and(|t| t.0 == 0)
                {
                    return Err(format!("{name}: duplicate or zero field tag"));
                }
                let by_json = fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| !f.inline)
                    .map(|(i, f)| (f.json.clone(), i))
                    .collect();
                if msg.array && !(fields.len() == 1 && fields[0].shape == Shape::Repeated) {
                    return Err(format!("{name}: an array message has one repeated field"));
                }
                messages.push(Message {
                    special: Special::for_message(&name),
                    name,
                    array: msg.array,
                    fields,
                    by_tag,
                    by_json,
                });
            }
        }
        Ok(Schema {
            messages,
            by_name,
            packages_by_gv,
        })
    }

    /// The table generated for the served Kubernetes version.
    pub fn builtin() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        // The text is a checked-in constant covered by the tests.
        SCHEMA.get_or_init(|| Schema::parse(BUILTIN_TEXT).expect("built-in schema is valid"))
    }

    pub fn message(&self, id: MessageId) -> &Message {
        &self.messages[id.0]
    }

    pub fn messages(&self) -> impl Iterator<Item = (MessageId, &Message)> {
        self.messages
            .iter()
            .enumerate()
            .map(|(i, m)| (MessageId(i), m))
    }

    /// A message by its fully qualified proto name.
    pub fn lookup(&self, full_name: &str) -> Option<MessageId> {
        self.by_name.get(full_name).copied()
    }

    /// The message for an object's `apiVersion` and `kind`. The kinds the
    /// API machinery registers into every group version (`DeleteOptions`,
    /// `Status`, `WatchEvent`, ...) are `meta.k8s.io/v1` messages.
    pub fn lookup_kind(&self, api_version: &str, kind: &str) -> Option<MessageId> {
        if kind.is_empty() || kind.contains('.') {
            return None;
        }
        let in_group = self
            .packages_by_gv
            .get(api_version)
            .and_then(|pkg| self.lookup(&format!("{pkg}.{kind}")));
        in_group.or_else(|| {
            SHARED_KINDS
                .contains(&kind)
                .then(|| self.lookup(&format!("k8s.io.apimachinery.pkg.apis.meta.v1.{kind}")))
                .flatten()
        })
    }

    /// The proto package serving a group version (`apps/v1`).
    pub fn package_for(&self, api_version: &str) -> Option<&str> {
        self.packages_by_gv.get(api_version).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The special messages have the fields their handlers read, by tag.
    #[test]
    fn special_messages_have_the_expected_fields() {
        use Scalar::{Bool, Bytes, Int32, Int64};
        let string = Scalar::String;
        let s = Schema::builtin();
        let meta = "k8s.io.apimachinery.pkg.apis.meta.v1";
        let ext = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1";
        let scalar = |t| Some((Shape::Single, Some(t)));
        let msg = Some((Shape::Single, None));
        type Expected = Vec<(u32, Option<(Shape, Option<Scalar>)>)>;
        let cases: Vec<(std::string::String, Expected)> = vec![
            (
                format!("{meta}.Time"),
                vec![(1, scalar(Int64)), (2, scalar(Int32))],
            ),
            (
                format!("{meta}.MicroTime"),
                vec![(1, scalar(Int64)), (2, scalar(Int32))],
            ),
            (format!("{meta}.Duration"), vec![(1, scalar(Int64))]),
            (format!("{meta}.FieldsV1"), vec![(1, scalar(Bytes))]),
            (
                "k8s.io.apimachinery.pkg.api.resource.Quantity".into(),
                vec![(1, scalar(string))],
            ),
            (
                "k8s.io.apimachinery.pkg.util.intstr.IntOrString".into(),
                vec![(1, scalar(Int64)), (2, scalar(Int32)), (3, scalar(string))],
            ),
            (
                "k8s.io.apimachinery.pkg.runtime.RawExtension".into(),
                vec![(1, scalar(Bytes))],
            ),
            (format!("{ext}.JSON"), vec![(1, scalar(Bytes))]),
            (
                format!("{ext}.JSONSchemaPropsOrBool"),
                vec![(1, scalar(Bool)), (2, msg)],
            ),
            (
                format!("{ext}.JSONSchemaPropsOrArray"),
                vec![(1, msg), (2, Some((Shape::Repeated, None)))],
            ),
            (
                format!("{ext}.JSONSchemaPropsOrStringArray"),
                vec![(1, msg), (2, Some((Shape::Repeated, Some(string))))],
            ),
        ];
        for (name, fields) in cases {
            let m = s.message(s.lookup(&name).unwrap_or_else(|| panic!("{name} missing")));
            assert!(m.special.is_some(), "{name} not special");
            for (tag, want) in fields {
                let got = m.field_by_tag(tag).map(|(_, f)| {
                    (
                        f.shape,
                        match f.ty {
                            Type::Scalar(s) => Some(s),
                            Type::Message(_) => None,
                        },
                    )
                });
                assert_eq!(got, want, "{name} field {tag}");
            }
        }
    }
}
