//! Writes the Go struct layout of `v1.PodTemplateSpec` and every type it
//! reaches, which the pod-template-hash prints (see
//! `src/deployment/gotypes.rs`), from the Go sources of k8s.io/api and
//! k8s.io/apimachinery:
//!
//! ```text
//! git -C <k8s.io/api> show v0.37.0-beta.0:core/v1/types.go > /tmp/core.go
//! git -C <k8s.io/apimachinery> show v0.37.0-beta.0:pkg/apis/meta/v1/types.go > /tmp/meta.go
//! cargo run -p rkube-controllers --example go_types -- /tmp/core.go /tmp/meta.go v0.37.0-beta.0 \
//!     > crates/rkube-controllers/src/deployment/go_types.txt
//! ```

use std::collections::{BTreeMap, BTreeSet};

struct Field {
    name: String,
    json: String,
    ty: String,
    inline: bool,
}

const PRIMITIVES: &[&str] = &[
    "string", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
    "uint32", "uint64", "float32", "float64",
];

fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let mut i = 0;
    let mut in_tag = false;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i] as char;
        if !in_str && c == '`' {
            in_tag = !in_tag;
        } else if !in_tag && c == '"' && (i == 0 || b[i - 1] != b'\\') {
            in_str = !in_str;
        }
        if !in_tag && !in_str && c == '/' && i + 1 < b.len() {
            if b[i + 1] == b'/' {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            if b[i + 1] == b'*' {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Qualify a type expression as reflect's Type.String() prints it.
fn qualify(t: &str, pkg: &str) -> String {
    if let Some(rest) = t.strip_prefix('*') {
        return format!("*{}", qualify(rest, pkg));
    }
    if let Some(rest) = t.strip_prefix("[]") {
        return format!("[]{}", qualify(rest, pkg));
    }
    if let Some(rest) = t.strip_prefix("map[") {
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        return format!(
            "map[{}]{}",
            qualify(&rest[..end], pkg),
            qualify(&rest[end + 1..], pkg)
        );
    }
    if let Some((p, n)) = t.split_once('.') {
        let p = if p == "metav1" { "v1" } else { p };
        return format!("{p}.{n}");
    }
    if t == "byte" {
        return "uint8".into();
    }
    if PRIMITIVES.contains(&t) {
        return t.into();
    }
    format!("{pkg}.{t}")
}

fn parse(
    src: &str,
    pkg: &str,
    structs: &mut BTreeMap<String, Vec<Field>>,
    aliases: &mut BTreeMap<String, String>,
) {
    let src = strip_comments(src);
    let mut rest = src.as_str();
    while let Some(pos) = rest.find("type ") {
        let at_line_start =
            pos == 0 || rest.as_bytes()[pos - 1] == b'\n' || rest.as_bytes()[pos - 1] == b'\t';
        let after = &rest[pos + 5..];
        rest = after;
        if !at_line_start {
            continue;
        }
        let line_end = after.find('\n').unwrap_or(after.len());
        let line = after[..line_end].trim();
        let mut words = line.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if kind.starts_with("struct") {
            let open = after.find('{').expect("struct body");
            let mut depth = 0;
            let mut close = open;
            for (i, c) in after[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            close = open + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let body = &after[open + 1..close];
            let mut fields = Vec::new();
            for l in body.lines() {
                let l = l.trim();
                if l.is_empty() {
                    continue;
                }
                let (decl, tag) = match l.find('`') {
                    Some(i) => (l[..i].trim(), &l[i..]),
                    None => (l, ""),
                };
                let json = tag
                    .split("json:\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("");
                let json_name = json.split(',').next().unwrap_or("");
                let parts: Vec<&str> = decl.split_whitespace().collect();
                let (fname, ty, embedded) = match parts.as_slice() {
                    [t] => {
                        let n = t.trim_start_matches('*');
                        (n.rsplit('.').next().unwrap_or(n).to_string(), *t, true)
                    }
                    [n, t, ..] => (n.to_string(), *t, false),
                    [] => continue,
                };
                let inline = json.contains(",inline") || (embedded && json_name.is_empty());
                fields.push(Field {
                    name: fname,
                    json: if json_name.is_empty() || json_name == "-" {
                        "-".into()
                    } else {
                        json_name.into()
                    },
                    ty: qualify(ty, pkg),
                    inline,
                });
            }
            structs.insert(format!("{pkg}.{name}"), fields);
            rest = &after[close..];
        } else if !matches!(kind, "interface" | "func")
            && !kind.starts_with("interface{")
            && !line.contains('=')
        {
            let ty = line[name.len()..].trim();
            aliases.insert(format!("{pkg}.{name}"), qualify(ty, pkg));
        }
    }
}

fn walk(
    t: &str,
    structs: &BTreeMap<String, Vec<Field>>,
    aliases: &BTreeMap<String, String>,
    seen: &mut BTreeSet<String>,
) {
    let mut t = t;
    loop {
        if let Some(r) = t.strip_prefix('*') {
            t = r;
        } else if let Some(r) = t.strip_prefix("[]") {
            t = r;
        } else if let Some(r) = t.strip_prefix("map[") {
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in r.char_indices() {
                match c {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            walk(&r[..end], structs, aliases, seen);
            t = &r[end + 1..];
        } else {
            break;
        }
    }
    if PRIMITIVES.contains(&t) || !seen.insert(t.to_string()) {
        return;
    }
    if let Some(fields) = structs.get(t) {
        for f in fields {
            walk(&f.ty, structs, aliases, seen);
        }
    } else if let Some(a) = aliases.get(t) {
        walk(a, structs, aliases, seen);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, core, meta, version] = args.as_slice() else {
        eprintln!("usage: go_types <core/v1/types.go> <meta/v1/types.go> <version>");
        std::process::exit(2);
    };
    let mut structs = BTreeMap::new();
    let mut aliases = BTreeMap::new();
    parse(
        &std::fs::read_to_string(meta).expect("meta types"),
        "v1",
        &mut structs,
        &mut aliases,
    );
    parse(
        &std::fs::read_to_string(core).expect("core types"),
        "v1",
        &mut structs,
        &mut aliases,
    );
    let mut seen = BTreeSet::new();
    walk("v1.PodTemplateSpec", &structs, &aliases, &mut seen);
    println!("# Go layout of v1.PodTemplateSpec and the types it reaches, k8s.io/api {version}.");
    println!("# Generated by examples/go_types.rs; do not edit.");
    for t in &seen {
        if let Some(a) = aliases.get(t)
            && !structs.contains_key(t)
        {
            println!("alias {t} {a}");
        }
    }
    for t in &seen {
        if let Some(fields) = structs.get(t) {
            println!("struct {t}");
            for f in fields {
                let inline = if f.inline { " inline" } else { "" };
                println!("  {} {} {}{inline}", f.name, f.json, f.ty);
            }
        }
    }
}
