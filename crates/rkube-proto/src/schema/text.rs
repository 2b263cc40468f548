//! The text form of the schema table: what `schema/kubernetes.schema` holds,
//! what the generator writes and what [`super::Schema`] is built from.
//!
//! ```text
//! # comment
//! package k8s.io.api.apps.v1 apps/v1
//! message Deployment
//!   1 metadata k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta
//!   2 spec DeploymentSpec
//! message DeploymentSpec
//!   1 replicas int32
//!   ...
//! message ExtraValue array
//!   1 items []string
//! ```
//!
//! A field line is `<tag> <json name> <type> [flags]`. The type is a scalar
//! (`string`, `bytes`, `bool`, `int32`, `int64`, `double`), a message name
//! (relative to the current package when it has no dot), `[]T` for a
//! repeated field, or `map<K,V>`. The JSON name is `-` for an `inline`
//! field. Flags: `omitempty`, `omitzero`, `inline`. Fields are listed in
//! the order their JSON properties are written.

use std::fmt::Write as _;

/// Cardinality of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawCard {
    Single,
    Repeated,
    /// A map field, with the key's scalar type name.
    Map(String),
}

/// One field as written in the text form; `ty` is a scalar name or a
/// fully qualified message name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawField {
    pub tag: u32,
    /// Empty for an inline field.
    pub json: String,
    pub card: RawCard,
    pub ty: String,
    pub omitempty: bool,
    pub omitzero: bool,
    pub inline: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMessage {
    /// Short name, without the package.
    pub name: String,
    /// The Go type is a named slice: JSON is the lone repeated field's array.
    pub array: bool,
    pub fields: Vec<RawField>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPackage {
    pub name: String,
    /// `v1`, `apps/v1`, ... when the package is a served API group version.
    pub group_version: Option<String>,
    pub messages: Vec<RawMessage>,
}

/// The whole table in text order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawSchema {
    pub packages: Vec<RawPackage>,
}

pub const SCALARS: &[&str] = &["string", "bytes", "bool", "int32", "int64", "double"];

fn qualify(package: &str, ty: &str) -> String {
    if SCALARS.contains(&ty) || ty.contains('.') {
        ty.to_string()
    } else {
        format!("{package}.{ty}")
    }
}

fn relative<'a>(package: &str, ty: &'a str) -> &'a str {
    match ty.rsplit_once('.') {
        Some((pkg, short)) if pkg == package => short,
        _ => ty,
    }
}

impl RawSchema {
    /// Parses the text form. Errors name the line.
    pub fn parse(text: &str) -> Result<RawSchema, String> {
        let mut out = RawSchema::default();
        for (i, line) in text.lines().enumerate() {
            let err = |m: &str| format!("schema line {}: {m}: {line:?}", i + 1);
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = trimmed.split_whitespace().collect();
            match words[0] {
                "package" => {
                    let (name, gv) = match words[1..] {
                        [name] => (name, None),
                        [name, gv] => (name, Some(gv.to_string())),
                        _ => return Err(err("expected `package NAME [GROUP/VERSION]`")),
                    };
                    out.packages.push(RawPackage {
                        name: name.to_string(),
                        group_version: gv,
                        messages: Vec::new(),
                    });
                }
                "message" => {
                    let pkg = out
                        .packages
                        .last_mut()
                        .ok_or_else(|| err("message before package"))?;
                    let array = match words[1..] {
                        [_] => false,
                        [_, "array"] => true,
                        _ => return Err(err("expected `message NAME [array]`")),
                    };
                    pkg.messages.push(RawMessage {
                        name: words[1].to_string(),
                        array,
                        fields: Vec::new(),
                    });
                }
                _ => {
                    let pkg = out
                        .packages
                        .last_mut()
                        .ok_or_else(|| err("field before package"))?;
                    let package = pkg.name.clone();
                    let msg = pkg
                        .messages
                        .last_mut()
                        .ok_or_else(|| err("field before message"))?;
                    if words.len() < 3 {
                        return Err(err("expected `TAG JSON TYPE [FLAGS]`"));
                    }
                    let tag: u32 = words[0].parse().map_err(|_| err("bad tag"))?;
                    let (card, ty) = if let Some(t) = words[2].strip_prefix("[]") {
                        (RawCard::Repeated, t)
                    } else if let Some(kv) = words[2]
                        .strip_prefix("map<")
                        .and_then(|r| r.strip_suffix('>'))
                    {
                        let (k, v) = kv.split_once(',').ok_or_else(|| err("bad map type"))?;
                        (RawCard::Map(k.to_string()), v)
                    } else {
                        (RawCard::Single, words[2])
                    };
                    let mut field = RawField {
                        tag,
                        json: if words[1] == "-" {
                            String::new()
                        } else {
                            words[1].to_string()
                        },
                        card,
                        ty: qualify(&package, ty),
                        omitempty: false,
                        omitzero: false,
                        inline: false,
                    };
                    for flag in &words[3..] {
                        match *flag {
                            "omitempty" => field.omitempty = true,
                            "omitzero" => field.omitzero = true,
                            "inline" => field.inline = true,
                            _ => return Err(err("unknown flag")),
                        }
                    }
                    msg.fields.push(field);
                }
            }
        }
        Ok(out)
    }

    /// Writes the text form (without a header; the caller adds comments).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for pkg in &self.packages {
            match &pkg.group_version {
                Some(gv) => writeln!(s, "package {} {gv}", pkg.name),
                None => writeln!(s, "package {}", pkg.name),
            }
            .ok();
            for msg in &pkg.messages {
                let array = if msg.array { " array" } else { "" };
                writeln!(s, "message {}{array}", msg.name).ok();
                for f in &msg.fields {
                    let json = if f.json.is_empty() { "-" } else { &f.json };
                    let ty = relative(&pkg.name, &f.ty);
                    let ty = match &f.card {
                        RawCard::Single => ty.to_string(),
                        RawCard::Repeated => format!("[]{ty}"),
                        RawCard::Map(k) => format!("map<{k},{ty}>"),
                    };
                    write!(s, "  {} {json} {ty}", f.tag).ok();
                    for (on, name) in [
                        (f.omitempty, "omitempty"),
                        (f.omitzero, "omitzero"),
                        (f.inline, "inline"),
                    ] {
                        if on {
                            write!(s, " {name}").ok();
                        }
                    }
                    s.push('\n');
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let text = "package a.b v1\nmessage M\n  1 name string omitempty\n  2 items []N\n  3 - N inline\n  4 m map<string,a.c.Q>\nmessage N array\n  1 items []string\npackage a.c\nmessage Q\n  1 string string\n";
        let raw = RawSchema::parse(text).unwrap();
        assert_eq!(raw.packages[0].messages[0].fields[1].ty, "a.b.N");
        assert!(raw.packages[0].messages[0].fields[2].inline);
        assert_eq!(raw.render(), text);
    }

    #[test]
    fn rejects_garbage() {
        assert!(RawSchema::parse("message X").is_err());
        assert!(RawSchema::parse("package p\nmessage X\n  x y string").is_err());
        assert!(RawSchema::parse("package p\nmessage X\n  1 y string shiny").is_err());
    }
}
