//! Reads what the proto files cannot say from the Go API types: each
//! field's JSON name and `omitempty`/`omitzero`, whether it is a pointer,
//! which embedded structs are inlined, which types are named slices, the
//! struct field order (the JSON order), and each package's group version.
//! Only facts are taken; the join key is the `protobuf:"..,<tag>,.."` struct
//! tag, the package is the one named in the directory's `generated.proto`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct GoField {
    pub tag: u32,
    /// Empty for an embedded struct without a JSON name (inlined).
    pub json: String,
    pub omitempty: bool,
    pub omitzero: bool,
    pub pointer: bool,
    pub embedded: bool,
}

#[derive(Clone, Debug, Default)]
pub struct GoPackage {
    pub group_version: Option<String>,
    /// Struct name -> fields with protobuf tags, in declaration order.
    pub structs: HashMap<String, Vec<GoField>>,
    /// Named slice types (`type ExtraValue []string`).
    pub slices: HashSet<String>,
    /// `type X pkg.Y` definitions: X -> (import path, Y), resolved after reading.
    defined: HashMap<String, (String, String)>,
}

/// proto package -> facts.
pub type GoFacts = BTreeMap<String, GoPackage>;

pub fn read(roots: &[&Path]) -> Result<GoFacts, String> {
    let mut out = GoFacts::new();
    for root in roots {
        walk(root, &mut out)?;
    }
    // Types defined from another package's struct take its fields.
    let mut copies = Vec::new();
    for (pkg, facts) in &out {
        for (name, (path, target)) in &facts.defined {
            let target_pkg = path.replace('/', ".").replace('-', "_");
            if let Some(fields) = out.get(&target_pkg).and_then(|p| p.structs.get(target)) {
                copies.push((pkg.clone(), name.clone(), fields.clone()));
            }
        }
    }
    for (pkg, name, fields) in copies {
        if let Some(p) = out.get_mut(&pkg) {
            p.structs.entry(name).or_insert(fields);
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut GoFacts) -> Result<(), String> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    let proto = dir.join("generated.proto");
    if proto.is_file() {
        let text = fs::read_to_string(&proto).map_err(|e| e.to_string())?;
        let package = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("package ")
                    .map(|p| p.trim_end_matches(';').trim().to_string())
            })
            .ok_or_else(|| format!("{}: no package", proto.display()))?;
        let mut pkg = GoPackage::default();
        let mut group = None;
        let mut version = None;
        for path in &entries {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.ends_with(".go")
                || name.ends_with("_test.go")
                || name.starts_with("zz_generated")
                || name == "generated.pb.go"
            {
                continue;
            }
            let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
            parse_go(&text, &mut pkg, &mut group, &mut version);
        }
        if let Some(g) = group {
            let v = version.unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            pkg.group_version = Some(if g.is_empty() { v } else { format!("{g}/{v}") });
        }
        out.insert(package, pkg);
    }
    for path in entries {
        if path.is_dir()
            && path
                .file_name()
                .is_some_and(|n| n != "testdata" && n != "vendor")
        {
            walk(&path, out)?;
        }
    }
    Ok(())
}

fn quoted_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = &line[line.find(key)? + key.len()..];
    let rest = rest.trim_start().strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

fn parse_go(
    text: &str,
    pkg: &mut GoPackage,
    group: &mut Option<String>,
    version: &mut Option<String>,
) {
    let mut current: Option<(String, Vec<GoField>)> = None;
    let mut depth = 0usize;
    let mut imports: HashMap<String, String> = HashMap::new();
    let mut defined: Vec<(String, String, String)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        // `alias "k8s.io/api/..."` inside an import block, or a single import.
        let import = line.strip_prefix("import ").unwrap_or(line);
        if let [alias, path] = import.split_whitespace().collect::<Vec<_>>().as_slice()
            && let Some(path) = path.strip_prefix('"').and_then(|p| p.strip_suffix('"'))
            && path.starts_with("k8s.io/")
        {
            imports.insert(alias.to_string(), path.to_string());
        }
        if let Some((name, fields)) = current.as_mut() {
            if line.starts_with("//") {
                continue;
            }
            if depth == 0 && line == "}" {
                pkg.structs
                    .insert(std::mem::take(name), std::mem::take(fields));
                current = None;
                continue;
            }
            // Anonymous nested structs are not proto fields; skip their bodies.
            let opens = line.matches('{').count();
            let closes = line.matches('}').count();
            let was = depth;
            depth = (depth + opens).saturating_sub(closes);
            if was == 0
                && opens == 0
                && let Some(f) = parse_field(line)
            {
                fields.push(f);
            }
            continue;
        }
        if let Some(rest) = raw.strip_prefix("type ") {
            let mut words = rest.split_whitespace();
            let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                continue;
            };
            if kind == "struct" || kind == "struct{" || kind == "struct{}" {
                if rest.trim_end().ends_with("{}") {
                    pkg.structs.insert(name.to_string(), Vec::new());
                } else {
                    current = Some((name.to_string(), Vec::new()));
                    depth = 0;
                }
            } else if kind.starts_with("[]") {
                pkg.slices.insert(name.to_string());
            } else if let Some((qual, target)) = kind.split_once('.') {
                defined.push((name.to_string(), qual.to_string(), target.to_string()));
            }
        } else if line.starts_with("const GroupName")
            || line.starts_with("GroupName ")
            || line.starts_with("GroupName=")
        {
            if let Some(g) = quoted_after(line, "=") {
                *group = Some(g.to_string());
            }
        } else if line.contains("SchemeGroupVersion")
            && line.contains("Version:")
            && let Some(v) = quoted_after(line, "Version:")
        {
            *version = Some(v.to_string());
        }
    }
    for (name, qual, target) in defined {
        if let Some(path) = imports.get(&qual) {
            pkg.defined.insert(name, (path.clone(), target));
        }
    }
}

fn parse_field(line: &str) -> Option<GoField> {
    let tick = line.find('`')?;
    let decl: Vec<&str> = line[..tick].split_whitespace().collect();
    let tags = &line[tick + 1..];
    let tags = &tags[..tags.find('`')?];
    let proto = quoted_after_tag(tags, "protobuf")?;
    let tag: u32 = proto.split(',').nth(1)?.parse().ok()?;
    let (embedded, ty) = match decl.as_slice() {
        [ty] => (true, *ty),
        [_, ty] => (false, *ty),
        _ => return None,
    };
    let json = quoted_after_tag(tags, "json").unwrap_or("");
    let mut parts = json.split(',');
    let name = parts.next().unwrap_or("");
    let opts: Vec<&str> = parts.collect();
    Some(GoField {
        tag,
        json: if name == "-" {
            String::new()
        } else {
            name.to_string()
        },
        omitempty: opts.contains(&"omitempty"),
        omitzero: opts.contains(&"omitzero"),
        pointer: ty.starts_with('*'),
        embedded: embedded && name.is_empty(),
    })
}

/// The value of `key:"..."` in a Go struct tag.
fn quoted_after_tag<'a>(tags: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = tags;
    loop {
        let at = rest.find(key)?;
        let before_ok = at == 0 || rest.as_bytes()[at - 1] == b' ';
        let after = &rest[at + key.len()..];
        if before_ok && let Some(v) = after.strip_prefix(":\"") {
            return Some(&v[..v.find('"')?]);
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_struct_fields() {
        let src = "type Foo struct {\n\t// c\n\tmetav1.TypeMeta `json:\",inline\"`\n\tVolumeSource `json:\"\" protobuf:\"bytes,2,opt,name=volumeSource\"`\n\tReplicas *int32 `json:\"replicas,omitempty\" protobuf:\"varint,1,opt,name=replicas\"`\n\tX struct {\n\t\tY string `json:\"y\" protobuf:\"bytes,9,opt,name=y\"`\n\t}\n\tName string `json:\"name,omitempty,omitzero\" protobuf:\"bytes,3,opt,name=name\"`\n}\ntype Extra []string\nconst GroupName = \"apps\"\n";
        let mut pkg = GoPackage::default();
        let (mut g, mut v) = (None, None);
        parse_go(src, &mut pkg, &mut g, &mut v);
        let f = &pkg.structs["Foo"];
        assert_eq!(f.iter().map(|f| f.tag).collect::<Vec<_>>(), vec![2, 1, 3]);
        assert!(f[0].embedded && f[0].json.is_empty());
        assert!(f[1].pointer && f[1].omitempty && !f[1].omitzero);
        assert!(f[2].omitzero && f[2].omitempty && !f[2].pointer);
        assert!(pkg.slices.contains("Extra"));
        assert_eq!(g.as_deref(), Some("apps"));
    }
}
