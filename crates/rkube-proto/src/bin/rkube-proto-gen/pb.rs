//! Reads the wire schema out of the k8s-pb crate's source: prost-build
//! output, one `mod.rs` per proto package, each message a `pub struct` whose
//! fields carry `#[prost(<type>, <label>, tag = "N")]`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// A proto field as k8s-pb declares it.
#[derive(Clone, Debug)]
pub struct PbField {
    pub tag: u32,
    /// Rust (snake_case) name, `r#` stripped.
    pub rust_name: String,
    pub card: Card,
    pub ty: PbType,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Card {
    Single,
    Repeated,
    Map(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbType {
    Scalar(&'static str),
    /// (proto package, Rust struct name).
    Message(String, String),
}

#[derive(Clone, Debug)]
pub struct PbMessage {
    pub rust_name: String,
    pub fields: Vec<PbField>,
}

/// `(api_version, kind)` of a `crate::Resource` impl, with its struct.
#[derive(Clone, Debug)]
pub struct PbResource {
    pub package: String,
    pub rust_name: String,
    pub api_version: String,
}

#[derive(Debug, Default)]
pub struct PbCrate {
    /// proto package -> messages in source order.
    pub packages: BTreeMap<String, Vec<PbMessage>>,
    pub resources: Vec<PbResource>,
}

fn scalar(attr: &str) -> Option<&'static str> {
    Some(match attr {
        "string" => "string",
        "bytes" | "bytes = \"vec\"" => "bytes",
        "bool" => "bool",
        "int32" => "int32",
        "int64" => "int64",
        "double" => "double",
        _ => return None,
    })
}

/// Reads every `mod.rs` under `src`.
pub fn read(src: &Path) -> Result<PbCrate, String> {
    let mut out = PbCrate::default();
    walk(src, src, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut PbCrate) -> Result<(), String> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if path.file_name().is_some_and(|n| n == "mod.rs") {
            let rel = path
                .parent()
                .unwrap_or(root)
                .strip_prefix(root)
                .map_err(|e| e.to_string())?;
            let module: Vec<String> = rel
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            parse_module(&module, &text, out).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn package_of(module: &[String]) -> String {
    format!("k8s.io.{}", module.join("."))
}

/// Resolves a Rust type path used for a message field to (package, struct).
fn resolve_path(module: &[String], path: &str) -> Result<(String, String), String> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let (name, dirs) = segs.split_last().ok_or("empty type path")?;
    let mut base: Vec<String> = module.to_vec();
    let mut rest = dirs;
    if rest.first() == Some(&"crate") {
        base.clear();
        rest = &rest[1..];
    }
    while rest.first() == Some(&"super") {
        base.pop().ok_or("too many `super`")?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().map(|s| s.to_string()));
    Ok((package_of(&base), name.to_string()))
}

/// Strips the container wrappers prost puts around a message type.
fn inner_type(ty: &str) -> &str {
    let mut t = ty.trim();
    for wrapper in [
        "::core::option::Option<",
        "::prost::alloc::vec::Vec<",
        "::prost::alloc::boxed::Box<",
    ] {
        while let Some(rest) = t.strip_prefix(wrapper) {
            t = rest.strip_suffix('>').unwrap_or(rest).trim();
        }
    }
    t
}

fn parse_module(module: &[String], text: &str, out: &mut PbCrate) -> Result<(), String> {
    let package = package_of(module);
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut current: Option<PbMessage> = None;
    let mut impl_for: Option<String> = None;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let (name, empty) = match rest.strip_suffix("{}") {
                Some(n) => (n.trim(), true),
                None => (rest.trim_end_matches('{').trim(), false),
            };
            if name.contains(' ') || name.contains('<') {
                return Err(format!("unexpected struct declaration {line:?}"));
            }
            let msg = PbMessage {
                rust_name: name.to_string(),
                fields: Vec::new(),
            };
            if empty {
                out.packages.entry(package.clone()).or_default().push(msg);
            } else {
                current = Some(msg);
            }
        } else if line == "}" {
            if let Some(msg) = current.take() {
                out.packages.entry(package.clone()).or_default().push(msg);
            }
            impl_for = None;
        } else if let Some(rest) = line.strip_prefix("impl crate::Resource for ") {
            impl_for = Some(rest.trim_end_matches('{').trim().to_string());
        } else if let (Some(rest), Some(name)) = (
            line.strip_prefix("const API_VERSION: &'static str = \""),
            &impl_for,
        ) {
            out.resources.push(PbResource {
                package: package.clone(),
                rust_name: name.clone(),
                api_version: rest.trim_end_matches("\";").to_string(),
            });
        } else if let Some(attr) = line
            .strip_prefix("#[prost(")
            .and_then(|r| r.strip_suffix(")]"))
        {
            let Some(msg) = current.as_mut() else {
                continue;
            };
            if attr.starts_with("oneof") || attr.starts_with("enumeration") {
                return Err(format!("unsupported prost attribute {line:?}"));
            }
            // The declaration may wrap onto following lines; it ends with ','.
            let mut decl = String::new();
            while i < lines.len() {
                decl.push_str(lines[i].trim());
                i += 1;
                if decl.ends_with(',') && decl.matches('<').count() == decl.matches('>').count() {
                    break;
                }
            }
            let decl = decl.trim_end_matches(',');
            let (name, ty) = decl
                .strip_prefix("pub ")
                .and_then(|d| d.split_once(':'))
                .ok_or_else(|| format!("unexpected field declaration {decl:?}"))?;
            let rust_name = name.trim().trim_start_matches("r#").to_string();
            msg.fields.push(parse_field(module, attr, rust_name, ty)?);
        }
    }
    Ok(())
}

fn parse_field(
    module: &[String],
    attr: &str,
    rust_name: String,
    ty: &str,
) -> Result<PbField, String> {
    let parts: Vec<&str> = attr.split(", ").map(str::trim).collect();
    let tag = parts
        .iter()
        .find_map(|p| p.strip_prefix("tag = \""))
        .and_then(|t| t.trim_end_matches('"').parse().ok())
        .ok_or_else(|| format!("no tag in {attr:?}"))?;
    let message = |t: &str| -> Result<PbType, String> {
        let (pkg, name) = resolve_path(module, inner_type(t))?;
        Ok(PbType::Message(pkg, name))
    };
    if let Some(kv) = attr.strip_prefix("btree_map = \"") {
        let kv = &kv[..kv.find('"').ok_or("bad btree_map")?];
        let (k, v) = kv.split_once(", ").ok_or("bad btree_map")?;
        let key = scalar(k).ok_or_else(|| format!("unsupported map key {k}"))?;
        let value = match scalar(v) {
            Some(s) => PbType::Scalar(s),
            None if v == "message" => {
                // BTreeMap<K, V>: the value type follows the first top-level comma.
                let inner = ty
                    .trim()
                    .strip_prefix("::prost::alloc::collections::BTreeMap<")
                    .ok_or("bad map type")?;
                let (_, v) = inner.split_once(',').ok_or("bad map type")?;
                message(v.trim().trim_end_matches('>').trim_end_matches(','))?
            }
            None => return Err(format!("unsupported map value {v}")),
        };
        return Ok(PbField {
            tag,
            rust_name,
            card: Card::Map(key.to_string()),
            ty: value,
        });
    }
    let card = if parts.contains(&"repeated") {
        Card::Repeated
    } else if parts.contains(&"optional") || parts.contains(&"required") {
        Card::Single
    } else {
        return Err(format!("unsupported label in {attr:?}"));
    };
    let ty = match scalar(parts[0]) {
        Some(s) => PbType::Scalar(s),
        None if parts[0] == "message" => message(ty)?,
        None => return Err(format!("unsupported field type in {attr:?}")),
    };
    Ok(PbField {
        tag,
        rust_name,
        card,
        ty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_paths() {
        let m: Vec<String> = ["api", "core", "v1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (p, n) = resolve_path(
            &m,
            "super::super::super::apimachinery::pkg::apis::meta::v1::ObjectMeta",
        )
        .unwrap();
        assert_eq!(
            (p.as_str(), n.as_str()),
            ("k8s.io.apimachinery.pkg.apis.meta.v1", "ObjectMeta")
        );
        let (p, n) = resolve_path(&m, "Container").unwrap();
        assert_eq!(
            (p.as_str(), n.as_str()),
            ("k8s.io.api.core.v1", "Container")
        );
        assert_eq!(
            inner_type("::core::option::Option<::prost::alloc::boxed::Box<JsonSchemaProps>>"),
            "JsonSchemaProps"
        );
    }
}
