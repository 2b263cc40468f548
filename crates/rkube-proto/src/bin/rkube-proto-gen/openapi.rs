//! Cross-checks JSON names against k8s-openapi's generated source, where
//! each type's file names its OpenAPI definition and serializes each
//! property under its upstream name.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

use rkube_proto::schema::text::{RawCard, RawSchema};

fn walk(dir: &Path, out: &mut HashMap<String, BTreeSet<String>>) -> Result<(), String> {
    for entry in fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let Some(def) = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// Generated from definition io.k8s."))
        else {
            continue;
        };
        let proto = format!("k8s.io.{}", def.trim().replace('-', "_"));
        let marker = "serialize_field(&mut state, \"";
        let props = text
            .match_indices(marker)
            .filter_map(|(at, _)| {
                let rest = &text[at + marker.len()..];
                Some(rest[..rest.find('"')?].to_string())
            })
            .collect();
        out.insert(proto, props);
    }
    Ok(())
}

/// Warnings for every JSON name the schema and k8s-openapi disagree on.
pub fn cross_check(dir: &Path, schema: &RawSchema) -> Result<Vec<String>, String> {
    let mut defs = HashMap::new();
    walk(dir, &mut defs)?;
    let messages: HashMap<String, &rkube_proto::schema::text::RawMessage> = schema
        .packages
        .iter()
        .flat_map(|p| {
            p.messages
                .iter()
                .map(move |m| (format!("{}.{}", p.name, m.name), m))
        })
        .collect();
    // JSON property names of a message, with inline fields flattened.
    fn props(
        name: &str,
        messages: &HashMap<String, &rkube_proto::schema::text::RawMessage>,
        out: &mut BTreeSet<String>,
    ) {
        let Some(m) = messages.get(name) else { return };
        for f in &m.fields {
            if f.inline && f.card == RawCard::Single {
                props(&f.ty, messages, out);
            } else {
                out.insert(f.json.clone());
            }
        }
    }
    let mut warnings = Vec::new();
    let mut checked = 0;
    for (name, msg) in &messages {
        let Some(openapi) = defs.get(name) else {
            continue;
        };
        if openapi.is_empty() || msg.array {
            continue;
        }
        checked += 1;
        let mut ours = BTreeSet::new();
        props(name, &messages, &mut ours);
        for p in ours.difference(openapi) {
            warnings.push(format!(
                "{name}: JSON name {p:?} is not a k8s-openapi property"
            ));
        }
        for p in openapi
            .difference(&ours)
            .filter(|p| *p != "apiVersion" && *p != "kind")
        {
            warnings.push(format!(
                "{name}: k8s-openapi property {p:?} is not in the schema"
            ));
        }
    }
    eprintln!(
        "cross-checked {checked} messages against {} k8s-openapi definitions",
        defs.len()
    );
    Ok(warnings)
}
