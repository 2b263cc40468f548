//! The printed form kube-controller-manager hashes for the
//! pod-template-hash: its Go value of `v1.PodTemplateSpec` written as
//! go-spew writes `%#v` with methods disabled and map keys sorted —
//! `(type)value` for every field (no type after a pointer, in a slice or
//! in a map), structs as `{Field:value ...}` in Go field order, nil
//! pointers, slices and maps as `<nil>`, strings bare.
//!
//! The Go layout comes from `go_types.txt`, generated from k8s.io/api by
//! `examples/go_types.rs`. The JSON we read maps onto that layout as the
//! controller manager's protobuf decoding would: absent fields are zero,
//! empty lists and maps are nil, `{}` for a pointer is a zero value.
//! Quantities are printed as `resource.ParseQuantity` leaves them for
//! values with an int64 form (all common ones); `metav1.Time` only in its
//! zero form (templates carry no timestamps).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// The types whose Go internals the generated layout does not carry.
const BUILTIN: &str = "
struct v1.Time
  Time - time.Time
struct time.Time
  wall - uint64
  ext - int64
  loc - *time.Location
struct resource.Quantity
  i - resource.int64Amount
  d - resource.infDecAmount
  s - string
  Format - resource.Format
struct resource.int64Amount
  value - int64
  scale - resource.Scale
struct resource.infDecAmount
  Dec - *inf.Dec
struct intstr.IntOrString
  Type - intstr.Type
  IntVal - int32
  StrVal - string
alias resource.Scale int32
alias resource.Format string
alias intstr.Type int64
alias types.UID string
";

const INTEGERS: &[&str] = &[
    "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
];

struct Field {
    name: String,
    /// JSON name; None for fields only synthetic values carry.
    json: Option<String>,
    ty: String,
    inline: bool,
}

pub struct GoTypes {
    structs: HashMap<String, Vec<Field>>,
    aliases: HashMap<String, String>,
}

/// The layout of the Kubernetes version rkube serves.
pub fn current() -> &'static GoTypes {
    static LAYOUT: OnceLock<GoTypes> = OnceLock::new();
    LAYOUT.get_or_init(|| GoTypes::parse(include_str!("go_types.txt")))
}

/// Split `map[K]V` into K and V.
fn map_parts(t: &str) -> Option<(&str, &str)> {
    let rest = t.strip_prefix("map[")?;
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&rest[..i], &rest[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

fn is_nil(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

impl GoTypes {
    pub fn parse(text: &str) -> GoTypes {
        let mut structs: HashMap<String, Vec<Field>> = HashMap::new();
        let mut aliases = HashMap::new();
        let mut current: Option<String> = None;
        for line in text.lines().chain(BUILTIN.lines()) {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["struct", name] => {
                    structs.insert(name.to_string(), Vec::new());
                    current = Some(name.to_string());
                }
                ["alias", name, ty] => {
                    aliases.insert(name.to_string(), ty.to_string());
                }
                [name, json, ty, rest @ ..] if line.starts_with(' ') => {
                    if let Some(fields) = current.as_ref().and_then(|c| structs.get_mut(c)) {
                        fields.push(Field {
                            name: name.to_string(),
                            json: (*json != "-").then(|| json.to_string()),
                            ty: ty.to_string(),
                            inline: rest.contains(&"inline"),
                        });
                    }
                }
                _ => {}
            }
        }
        GoTypes { structs, aliases }
    }

    fn underlying<'a>(&'a self, mut t: &'a str) -> &'a str {
        while !self.structs.contains_key(t) {
            match self.aliases.get(t) {
                Some(a) => t = a,
                None => break,
            }
        }
        t
    }

    /// The printed form of `value` as Go type `ty`.
    pub fn print(&self, ty: &str, value: &Value) -> String {
        let mut out = String::new();
        self.fmt(&mut out, ty, Some(value), false);
        out
    }

    fn fmt(&self, out: &mut String, ty: &str, v: Option<&Value>, ignore_type: bool) {
        if let Some(inner) = ty.strip_prefix('*') {
            if is_nil(v) {
                if !ignore_type {
                    out.push('(');
                    out.push_str(ty);
                    out.push(')');
                }
                out.push_str("<nil>");
                return;
            }
            if ignore_type {
                out.push_str("<*>");
            } else {
                out.push_str("(*");
                out.push_str(inner);
                out.push(')');
            }
            self.fmt(out, inner, v, true);
            return;
        }
        if !ignore_type {
            out.push('(');
            out.push_str(ty);
            out.push(')');
        }
        let u = self.underlying(ty);
        if let Some(fields) = self.structs.get(u) {
            let synthetic = synthesize(ty, v);
            let v = synthetic.as_ref().or(v);
            out.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&f.name);
                out.push(':');
                let fv = if f.inline {
                    v
                } else {
                    let key = f.json.clone().unwrap_or_else(|| format!("={}", f.name));
                    v.and_then(|v| v.get(&key))
                };
                self.fmt(out, &f.ty, fv, false);
            }
            out.push('}');
        } else if let Some(elem) = u.strip_prefix("[]") {
            match v.and_then(Value::as_array).filter(|a| !a.is_empty()) {
                None => out.push_str("<nil>"),
                Some(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(' ');
                        }
                        self.fmt(out, elem, Some(item), true);
                    }
                    out.push(']');
                }
            }
        } else if let Some((k, vt)) = map_parts(u) {
            match v.and_then(Value::as_object).filter(|m| !m.is_empty()) {
                None => out.push_str("<nil>"),
                Some(m) => {
                    let mut keys: Vec<&String> = m.keys().collect();
                    keys.sort();
                    out.push_str("map[");
                    for (i, key) in keys.into_iter().enumerate() {
                        if i > 0 {
                            out.push(' ');
                        }
                        self.fmt(out, k, Some(&Value::String(key.clone())), true);
                        out.push(':');
                        self.fmt(out, vt, m.get(key), true);
                    }
                    out.push(']');
                }
            }
        } else if u == "string" {
            match v {
                Some(Value::String(s)) => out.push_str(s),
                Some(Value::Number(n)) => out.push_str(&n.to_string()),
                _ => {}
            }
        } else if u == "bool" {
            out.push_str(if v.and_then(Value::as_bool).unwrap_or(false) {
                "true"
            } else {
                "false"
            });
        } else if INTEGERS.contains(&u) {
            match v {
                Some(Value::Number(n)) => out.push_str(&n.to_string()),
                _ => out.push('0'),
            }
        } else {
            // A type the layout does not describe (never in a template).
            out.push_str("{}");
        }
    }
}

/// The Go internals of the types whose JSON form is not their layout.
fn synthesize(ty: &str, v: Option<&Value>) -> Option<Value> {
    match ty {
        "v1.Time" => Some(json!({})),
        "intstr.IntOrString" => Some(match v {
            Some(Value::Number(n)) => json!({"=Type": 0, "=IntVal": n}),
            Some(Value::String(s)) => json!({"=Type": 1, "=StrVal": s}),
            _ => json!({}),
        }),
        "resource.Quantity" => Some(match v {
            Some(Value::String(s)) => quantity(s),
            Some(Value::Number(n)) => quantity(&n.to_string()),
            _ => json!({}),
        }),
        _ => None,
    }
}

/// A quantity as `resource.ParseQuantity` returns it: the int64 amount
/// and scale, the format, and the original string when it is already in
/// canonical form.
fn quantity(s: &str) -> Value {
    let mut out = Map::new();
    if s == "0" {
        out.insert("=Format".into(), json!("DecimalSI"));
        out.insert("=s".into(), json!(s));
        return Value::Object(out);
    }
    let (positive, body) = match s.as_bytes().first() {
        Some(b'-') => (false, &s[1..]),
        Some(b'+') => (true, &s[1..]),
        _ => (true, s),
    };
    let body = body.trim_start_matches('0');
    let num_end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let mut num = &body[..num_end];
    if num.is_empty() {
        num = "0";
    }
    let mut rest = &body[num_end..];
    let mut denom = "";
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        denom = &r[..end];
        rest = &r[end..];
    }
    let (format, exponent): (&str, i32) = match rest {
        "" => ("DecimalSI", 0),
        "Ki" => ("BinarySI", 10),
        "Mi" => ("BinarySI", 20),
        "Gi" => ("BinarySI", 30),
        "Ti" => ("BinarySI", 40),
        "Pi" => ("BinarySI", 50),
        "Ei" => ("BinarySI", 60),
        "n" => ("DecimalSI", -9),
        "u" => ("DecimalSI", -6),
        "m" => ("DecimalSI", -3),
        "k" => ("DecimalSI", 3),
        "M" => ("DecimalSI", 6),
        "G" => ("DecimalSI", 9),
        "T" => ("DecimalSI", 12),
        "P" => ("DecimalSI", 15),
        "E" => ("DecimalSI", 18),
        e => match e.strip_prefix(['e', 'E']).and_then(|x| x.parse().ok()) {
            Some(x) => ("DecimalExponent", x),
            None => ("DecimalSI", 0),
        },
    };
    out.insert("=Format".into(), json!(format));
    let digits = (num.len() + denom.len()) as i32;
    let (mut scale, precision, mantissa) = if format == "BinarySI" {
        if denom.is_empty() {
            let p = 15 - num.len() as i32 - (exponent as f32 * 3.0 / 10.0) as i32 - 1;
            (0, p, 1i64 << exponent)
        } else {
            (0, -1, 1)
        }
    } else {
        (exponent, 18 - digits, 1)
    };
    if precision >= 0 {
        scale -= denom.len() as i32;
        if scale >= -9 {
            let shifted = format!("{num}{denom}");
            if let Some(result) = shifted
                .parse::<i64>()
                .ok()
                .and_then(|v| v.checked_mul(mantissa).map(|r| (v, r)))
            {
                let (value, mut result) = result;
                if !positive {
                    result = -result;
                }
                out.insert("=i".into(), json!({"=value": result, "=scale": scale}));
                let canonical = if format == "BinarySI" {
                    exponent % 10 == 0 && value & 0x07 != 0
                } else {
                    scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0')
                };
                if canonical {
                    out.insert("=s".into(), json!(s));
                }
                return Value::Object(out);
            }
        }
    }
    // Upstream keeps these as inf.Dec; ours is an approximation.
    out.insert("=d".into(), json!({"=Dec": {}}));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_print_as_parse_quantity_leaves_them() {
        let g = current();
        let q = |s: &str| g.print("resource.Quantity", &json!(s));
        assert_eq!(
            q("100m"),
            "(resource.Quantity){i:(resource.int64Amount){value:(int64)100 scale:(resource.Scale)-3} d:(resource.infDecAmount){Dec:(*inf.Dec)<nil>} s:(string)100m Format:(resource.Format)DecimalSI}"
        );
        assert!(q("1Gi").contains("value:(int64)1073741824 scale:(resource.Scale)0} d:(resource.infDecAmount){Dec:(*inf.Dec)<nil>} s:(string)1Gi"));
        assert!(q("128Mi").contains("s:(string) Format:(resource.Format)BinarySI"));
        assert!(q("1000").contains("value:(int64)1000 scale:(resource.Scale)0}"));
        assert!(q("1000").contains("s:(string) "));
    }

    #[test]
    fn int_or_string_and_nil_values() {
        let g = current();
        assert_eq!(
            g.print("intstr.IntOrString", &json!(80)),
            "(intstr.IntOrString){Type:(intstr.Type)0 IntVal:(int32)80 StrVal:(string)}"
        );
        assert_eq!(
            g.print("intstr.IntOrString", &json!("http")),
            "(intstr.IntOrString){Type:(intstr.Type)1 IntVal:(int32)0 StrVal:(string)http}"
        );
        assert_eq!(g.print("*int64", &Value::Null), "(*int64)<nil>");
        assert_eq!(g.print("*int64", &json!(30)), "(*int64)30");
        assert_eq!(g.print("[]string", &json!([])), "([]string)<nil>");
        assert_eq!(g.print("[]string", &json!(["a", "b"])), "([]string)[a b]");
        assert_eq!(
            g.print("map[string]string", &json!({"b": "2", "a": "1"})),
            "(map[string]string)map[a:1 b:2]"
        );
    }
}
