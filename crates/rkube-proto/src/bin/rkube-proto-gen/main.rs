//! Generates `schema/kubernetes.schema`, the table rkube-proto transcodes
//! with, and checks it against the k8s-pb crate the workspace builds with.
//!
//! ```text
//! rkube-proto-gen generate --go-src DIR... [--note TEXT]... [--k8s-pb DIR] [--k8s-openapi DIR] [--out FILE]
//! rkube-proto-gen check [--k8s-pb DIR] [--schema FILE]
//! ```
//!
//! `generate` joins the wire schema read from k8s-pb's source (messages,
//! tags, scalar/message/map types, repetition) with facts read from the Go
//! API types in the given source trees (JSON names, omitempty/omitzero,
//! pointers, inlined embeds, named slices, field order, group versions),
//! and, when it finds k8s-openapi's source, cross-checks every JSON name
//! against its properties. `check` needs no Go: it re-derives everything
//! k8s-pb determines and fails if the committed file disagrees, so the
//! table cannot silently go stale when k8s-pb moves.

mod gofacts;
mod openapi;
mod pb;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pb::{Card, PbCrate, PbType};
use rkube_proto::schema::text::{RawCard, RawField, RawMessage, RawPackage, RawSchema};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Lowercase alphanumerics only: how prost's snake_case and the upstream
/// camelCase (`hostIPC`/`host_ipc`, `$ref`/`r#ref`) are matched.
fn norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Maps k8s-pb's Rust struct names (`AwsElasticBlockStoreVolumeSource`) to
/// the proto names (`AWSElasticBlockStoreVolumeSource`) known to a source.
struct Names(HashMap<(String, String), String>);

impl Names {
    fn new<'a>(known: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Names, String> {
        let mut map = HashMap::new();
        for (pkg, name) in known {
            if let Some(prev) = map.insert((pkg.to_string(), norm(name)), name.to_string())
                && prev != name
            {
                return Err(format!("{pkg}: {prev} and {name} are indistinguishable"));
            }
        }
        Ok(Names(map))
    }

    fn resolve(&self, pkg: &str, rust: &str) -> String {
        self.0
            .get(&(pkg.to_string(), norm(rust)))
            .cloned()
            .unwrap_or_else(|| rust.to_string())
    }
}

/// Everything k8s-pb determines, with default JSON names and no flags;
/// fields in tag order, packages and messages sorted by name.
fn skeleton(pb: &PbCrate, names: &Names) -> RawSchema {
    let mut packages = Vec::new();
    for (pkg, msgs) in &pb.packages {
        let mut messages: Vec<RawMessage> = msgs
            .iter()
            .map(|m| {
                let mut fields: Vec<RawField> = m
                    .fields
                    .iter()
                    .map(|f| RawField {
                        tag: f.tag,
                        json: lower_camel(&f.rust_name),
                        card: match &f.card {
                            Card::Single => RawCard::Single,
                            Card::Repeated => RawCard::Repeated,
                            Card::Map(k) => RawCard::Map(k.clone()),
                        },
                        ty: match &f.ty {
                            PbType::Scalar(s) => s.to_string(),
                            PbType::Message(p, n) => format!("{p}.{}", names.resolve(p, n)),
                        },
                        omitempty: false,
                        omitzero: false,
                        inline: false,
                    })
                    .collect();
                fields.sort_by_key(|f| f.tag);
                RawMessage {
                    name: names.resolve(pkg, &m.rust_name),
                    array: false,
                    fields,
                }
            })
            .collect();
        messages.sort_by(|a, b| a.name.cmp(&b.name));
        packages.push(RawPackage {
            name: pkg.clone(),
            group_version: None,
            messages,
        });
    }
    RawSchema { packages }
}

/// Joins k8s-pb with the Go facts. `skew` gets the Go fields k8s-pb lacks.
fn generate(
    pb: &PbCrate,
    go: &gofacts::GoFacts,
    warnings: &mut Vec<String>,
    skew: &mut Vec<String>,
) -> Result<RawSchema, String> {
    let names = Names::new(go.iter().flat_map(|(pkg, p)| {
        p.structs
            .keys()
            .chain(p.slices.iter())
            .map(move |n| (pkg.as_str(), n.as_str()))
    }))?;
    let mut schema = skeleton(pb, &names);
    for pkg in &mut schema.packages {
        let Some(facts) = go.get(&pkg.name) else {
            warnings.push(format!("{}: no Go package", pkg.name));
            continue;
        };
        pkg.group_version = facts.group_version.clone();
        for msg in &mut pkg.messages {
            let full = format!("{}.{}", pkg.name, msg.name);
            if facts.slices.contains(&msg.name) {
                msg.array = true;
                continue;
            }
            let Some(go_fields) = facts.structs.get(&msg.name) else {
                warnings.push(format!("{full}: no Go struct"));
                continue;
            };
            let by_tag: HashMap<u32, (usize, &gofacts::GoField)> = go_fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.tag, (i, f)))
                .collect();
            for f in &mut msg.fields {
                let Some((_, g)) = by_tag.get(&f.tag) else {
                    warnings.push(format!("{full}.{}: not in the Go struct", f.tag));
                    continue;
                };
                let scalar = rkube_proto::schema::text::SCALARS.contains(&f.ty.as_str());
                if g.embedded && !scalar {
                    f.inline = true;
                    f.json.clear();
                } else if g.json.is_empty() {
                    // Only types with their own JSON form (handled as specials).
                    warnings.push(format!("{full}.{}: Go field has no JSON name", f.tag));
                } else {
                    if norm(&g.json) != norm(&f.json) {
                        return Err(format!(
                            "{full}.{}: Go JSON name {} does not match {}",
                            f.tag, g.json, f.json
                        ));
                    }
                    f.json = g.json.clone();
                }
                f.omitempty = g.omitempty && !g.pointer && scalar && f.card == RawCard::Single;
                f.omitzero = g.omitzero;
            }
            let missing: Vec<&str> = go_fields
                .iter()
                .filter(|g| !msg.fields.iter().any(|f| f.tag == g.tag))
                .map(|g| g.json.as_str())
                .collect();
            if !missing.is_empty() {
                skew.push(format!("{full}: {}", missing.join(", ")));
            }
            // JSON order is the Go declaration order.
            msg.fields.sort_by_key(|f| {
                by_tag
                    .get(&f.tag)
                    .map_or((1, f.tag as usize), |(i, _)| (0, *i))
            });
        }
    }
    for r in &pb.resources {
        let Some(pkg) = schema.packages.iter_mut().find(|p| p.name == r.package) else {
            continue;
        };
        match &pkg.group_version {
            // A package the Go trees no longer have (a removed version).
            None => pkg.group_version = Some(r.api_version.clone()),
            Some(gv) if *gv != r.api_version => warnings.push(format!(
                "{}.{}: k8s-pb says {}, Go says {gv}",
                r.package, r.rust_name, r.api_version
            )),
            Some(_) => {}
        }
    }
    Ok(schema)
}

/// A field as k8s-pb determines it: tag, normalised JSON name, card, type.
type Projected = (u32, String, RawCard, String);

/// The parts of a schema k8s-pb determines, for comparison.
fn projection(schema: &RawSchema) -> Vec<(String, Vec<Projected>)> {
    let mut out = Vec::new();
    for p in &schema.packages {
        for m in &p.messages {
            let mut fields: Vec<_> = m
                .fields
                .iter()
                .map(|f| (f.tag, norm(&f.json), f.card.clone(), f.ty.clone()))
                .collect();
            fields.sort_by_key(|f| f.0);
            out.push((format!("{}.{}", p.name, m.name), fields));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn check(pb: &PbCrate, committed: &RawSchema) -> Vec<String> {
    let names = match Names::new(committed.packages.iter().flat_map(|p| {
        p.messages
            .iter()
            .map(move |m| (p.name.as_str(), m.name.as_str()))
    })) {
        Ok(n) => n,
        Err(e) => return vec![e],
    };
    let mut expected = skeleton(pb, &names);
    // Inline fields carry no JSON name; take them as the committed file has them.
    for p in &mut expected.packages {
        let Some(cp) = committed.packages.iter().find(|c| c.name == p.name) else {
            continue;
        };
        for m in &mut p.messages {
            let Some(cm) = cp.messages.iter().find(|c| c.name == m.name) else {
                continue;
            };
            for f in &mut m.fields {
                if cm.fields.iter().any(|c| c.tag == f.tag && c.inline) {
                    f.json.clear();
                }
            }
        }
    }
    let (want, have) = (projection(&expected), projection(committed));
    let want: HashMap<_, _> = want.into_iter().collect();
    let have: HashMap<_, _> = have.into_iter().collect();
    let mut errors = Vec::new();
    for (name, fields) in &want {
        match have.get(name) {
            None => errors.push(format!("{name}: in k8s-pb, missing from the schema")),
            Some(h) if h != fields => {
                let missing: Vec<String> = fields
                    .iter()
                    .filter(|f| !h.contains(f))
                    .map(|f| format!("{f:?}"))
                    .collect();
                let extra: Vec<String> = h
                    .iter()
                    .filter(|f| !fields.contains(f))
                    .map(|f| format!("{f:?}"))
                    .collect();
                errors.push(format!(
                    "{name}: k8s-pb has {}; the schema has {}",
                    missing.join(", "),
                    extra.join(", ")
                ));
            }
            _ => {}
        }
    }
    for name in have.keys().filter(|n| !want.contains_key(*n)) {
        errors.push(format!("{name}: in the schema, not in k8s-pb"));
    }
    errors.sort();
    errors
}

/// The extracted source of a crate the workspace locks, from cargo's registry.
fn registry_crate(name: &str) -> Option<PathBuf> {
    let lock = std::fs::read_to_string(Path::new(MANIFEST_DIR).join("../../Cargo.lock")).ok();
    let version = lock.as_deref().and_then(|l| {
        let at = l.find(&format!("name = \"{name}\"\n"))?;
        let rest = &l[at..];
        let v = rest.lines().nth(1)?.strip_prefix("version = \"")?;
        Some(v.trim_end_matches('"').to_string())
    });
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .filter_map(Result::ok)
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
        })
        .map(|e| e.path())
        .filter(|p| {
            let file = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match &version {
                Some(v) => file == format!("{name}-{v}"),
                None => file
                    .strip_prefix(name)
                    .is_some_and(|r| r.starts_with("-0.29")),
            }
        })
        .collect();
    found.sort();
    found.pop()
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().cloned().unwrap_or_default();
    let mut go_src = Vec::new();
    let mut notes = Vec::new();
    let mut k8s_pb = None;
    let mut k8s_openapi = None;
    let mut file = PathBuf::from(MANIFEST_DIR).join("schema/kubernetes.schema");
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--go-src" => go_src.push(PathBuf::from(val()?)),
            "--note" => notes.push(val()?),
            "--k8s-pb" => k8s_pb = Some(PathBuf::from(val()?)),
            "--k8s-openapi" => k8s_openapi = Some(PathBuf::from(val()?)),
            "--out" | "--schema" => file = PathBuf::from(val()?),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    let k8s_pb = k8s_pb
        .or_else(|| registry_crate("k8s-pb"))
        .ok_or("k8s-pb source not found; pass --k8s-pb")?;
    let pb = pb::read(&k8s_pb.join("src"))?;
    let pb_version = k8s_pb
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match mode.as_str() {
        "generate" => {
            if go_src.is_empty() {
                return Err(
                    "generate needs --go-src (k8s.io/api, apimachinery, ... source trees)".into(),
                );
            }
            let roots: Vec<&Path> = go_src.iter().map(PathBuf::as_path).collect();
            let go = gofacts::read(&roots)?;
            let (mut warnings, mut skew) = (Vec::new(), Vec::new());
            let schema = generate(&pb, &go, &mut warnings, &mut skew)?;
            let openapi_dir =
                k8s_openapi.or_else(|| registry_crate("k8s-openapi").map(|p| p.join("src/v1_37")));
            match openapi_dir {
                Some(dir) => warnings.extend(openapi::cross_check(&dir, &schema)?),
                None => eprintln!("k8s-openapi source not found: JSON names not cross-checked"),
            }
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            let mut text = String::from(
                "# The Kubernetes protobuf messages and their JSON mapping, for rkube-proto.\n\
                 # GENERATED by `rkube-proto-gen generate`; do not edit. See the crate docs.\n",
            );
            text.push_str(&format!(
                "# Wire schema: {pb_version}. JSON names, flags, order: the Go API types.\n"
            ));
            for n in &notes {
                text.push_str(&format!("# {n}\n"));
            }
            if !skew.is_empty() {
                text.push_str("# Fields the Go types have and k8s-pb does not carry yet (skipped when decoding):\n");
                skew.sort();
                for s in &skew {
                    text.push_str(&format!("#   {s}\n"));
                }
            }
            text.push_str(&schema.render());
            rkube_proto::schema::Schema::parse(&text)?;
            std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
            eprintln!("wrote {} ({} warnings)", file.display(), warnings.len());
            Ok(())
        }
        "check" => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let committed = RawSchema::parse(&text)?;
            rkube_proto::schema::Schema::from_raw(&committed)?;
            let errors = check(&pb, &committed);
            if errors.is_empty() {
                println!("{} agrees with {pb_version}", file.display());
                Ok(())
            } else {
                Err(format!(
                    "{} is stale against {pb_version}:\n  {}",
                    file.display(),
                    errors.join("\n  ")
                ))
            }
        }
        _ => Err("usage: rkube-proto-gen generate|check [options] (see the source)".into()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rkube-proto-gen: {e}");
            ExitCode::FAILURE
        }
    }
}
