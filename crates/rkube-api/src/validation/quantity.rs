//! `resource.Quantity`: parsing with upstream's error messages, the
//! canonical string form kube-apiserver writes back ("0.5" reads back as
//! "500m", "1.5Gi" as "1536Mi"), rounding, and comparison.
//!
//! Values are kept as an exact decimal (`mantissa * 10^scale`) in i128.
//! Upstream falls back to arbitrary precision for numbers beyond 64 bits;
//! here numbers with more than 36 significant digits are rejected as not
//! numeric, which no real manifest needs.

use std::cmp::Ordering;

/// The regex named in upstream's format error.
pub const QUANTITY_REGEX: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `e3`, `E-6`.
    DecimalExponent,
    /// `Ki`, `Mi`, ... `Ei`.
    BinarySI,
    /// `n`, `u`, `m`, ``, `k`, `M`, `G`, `T`, `P`, `E`.
    DecimalSI,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    scale: i32,
    pub format: Format,
}

/// Why a quantity string did not parse; `Display` gives upstream's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    FormatWrong,
    Numeric,
    Suffix,
}

impl std::fmt::Display for QuantityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuantityError::FormatWrong => write!(
                f,
                "quantities must match the regular expression '{QUANTITY_REGEX}'"
            ),
            QuantityError::Numeric => f.write_str("unable to parse quantity's numeric part"),
            QuantityError::Suffix => f.write_str("unable to parse quantity's suffix"),
        }
    }
}

impl std::error::Error for QuantityError {}

struct Parts<'a> {
    positive: bool,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

fn split(s: &str) -> Result<Parts<'_>, QuantityError> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut positive = true;
    if pos < end && (b[0] == b'-' || b[0] == b'+') {
        positive = b[0] != b'-';
        pos += 1;
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Parts {
            positive,
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = if pos == start { "0" } else { &s[start..pos] };
    let mut denom = "";
    if pos < end && b[pos] == b'.' {
        pos += 1;
        let ds = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[ds..pos];
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Parts {
        positive,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

/// (base, exponent, format) of a suffix.
fn interpret(suffix: &str) -> Option<(u32, i32, Format)> {
    let dec = |e| Some((10, e, Format::DecimalSI));
    let bin = |e| Some((2, e, Format::BinarySI));
    match suffix {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ => {
            let rest = suffix.strip_prefix(['e', 'E'])?;
            let e: i32 = rest.parse().ok()?;
            Some((10, e, Format::DecimalExponent))
        }
    }
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Quantity {
    pub fn zero() -> Self {
        Quantity {
            mantissa: 0,
            scale: 0,
            format: Format::DecimalSI,
        }
    }

    /// Parse as upstream does, rounding up to nano precision.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        let p = split(s)?;
        let (base, exp, format) = interpret(p.suffix).ok_or(QuantityError::Suffix)?;
        let digits = format!("{}{}", p.num, p.denom);
        let digits = digits.trim_start_matches('0');
        if digits.len() > 36 {
            return Err(QuantityError::Numeric);
        }
        let mut mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| QuantityError::Numeric)?
        };
        let mut scale = -(p.denom.len() as i32);
        if base == 10 {
            scale += exp;
        } else {
            mantissa = mantissa
                .checked_mul(1i128 << exp)
                .ok_or(QuantityError::Numeric)?;
        }
        if !p.positive {
            mantissa = -mantissa;
        }
        let mut q = Quantity {
            mantissa,
            scale,
            format,
        };
        q.round_up(-9);
        if format == Format::BinarySI && q.cmp_i64(i64::MAX) == Ordering::Greater {
            q = Quantity {
                mantissa: i64::MAX as i128,
                scale: 0,
                format,
            };
        }
        Ok(q.normalized())
    }

    /// Drop trailing zero digits into the scale (does not change the value).
    fn normalized(mut self) -> Self {
        if self.mantissa == 0 {
            self.scale = 0;
            return self;
        }
        while self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale += 1;
        }
        self
    }

    /// Round away from zero to `10^scale` precision (upstream `RoundUp`).
    /// Returns whether the value was already exact.
    pub fn round_up(&mut self, scale: i32) -> bool {
        if self.scale >= scale {
            return true;
        }
        let diff = (scale - self.scale) as u32;
        let Some(div) = pow10(diff) else {
            self.mantissa = self.mantissa.signum();
            self.scale = scale;
            return false;
        };
        let q = self.mantissa / div;
        let r = self.mantissa % div;
        self.mantissa = if r == 0 {
            q
        } else {
            q + self.mantissa.signum()
        };
        self.scale = scale;
        *self = self.normalized();
        r == 0
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    pub fn signum(&self) -> i32 {
        self.mantissa.signum() as i32
    }

    fn cmp_i64(&self, v: i64) -> Ordering {
        self.cmp(&Quantity {
            mantissa: v as i128,
            scale: 0,
            format: Format::DecimalSI,
        })
    }

    /// The value as f64 (for ratios; exactness not needed).
    pub fn as_f64(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.scale)
    }

    /// The value rounded up to an integer (upstream `Value()`).
    pub fn value(&self) -> i64 {
        let mut q = *self;
        q.round_up(0);
        q.integer_at_scale(0)
    }

    /// The value in thousandths, rounded up (upstream `MilliValue()`).
    pub fn milli_value(&self) -> i64 {
        let mut q = *self;
        q.round_up(-3);
        q.integer_at_scale(-3)
    }

    fn integer_at_scale(&self, scale: i32) -> i64 {
        let shift = self.scale - scale;
        let v = if shift >= 0 {
            pow10(shift as u32).and_then(|p| self.mantissa.checked_mul(p))
        } else {
            pow10((-shift) as u32).map(|p| self.mantissa / p)
        };
        match v {
            Some(v) => v.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            None if self.mantissa < 0 => i64::MIN,
            None => i64::MAX,
        }
    }

    /// The canonical string, as a quantity serialises upstream.
    pub fn canonical(&self) -> String {
        if self.mantissa == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == Format::BinarySI {
            let small =
                self.cmp_i64(-1024) == Ordering::Greater && self.cmp_i64(1024) == Ordering::Less;
            let integral = self.scale >= 0;
            if small || !integral {
                format = Format::DecimalSI;
            }
        }
        if format == Format::BinarySI {
            let mut amount =
                match pow10(self.scale as u32).and_then(|p| self.mantissa.checked_mul(p)) {
                    Some(v) => v,
                    None => return self.decimal_string(Format::DecimalSI),
                };
            let mut exp = 0;
            while amount % 1024 == 0 && exp < 6 {
                amount /= 1024;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return format!("{amount}{suffix}");
        }
        self.decimal_string(format)
    }

    fn decimal_string(&self, format: Format) -> String {
        let q = self.normalized();
        let mut amount = q.mantissa;
        let mut exp = q.scale;
        match exp.rem_euclid(3) {
            1 => {
                amount *= 10;
                exp -= 1;
            }
            2 => {
                amount *= 100;
                exp -= 2;
            }
            _ => {}
        }
        let suffix = if format == Format::DecimalExponent {
            if exp == 0 {
                String::new()
            } else {
                format!("e{exp}")
            }
        } else {
            match exp {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                18 => "E",
                // Upstream finds no suffix here and prints the bare number.
                _ => "",
            }
            .to_string()
        };
        format!("{amount}{suffix}")
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    /// Compare values (formats are ignored).
    fn cmp(&self, other: &Self) -> Ordering {
        let s = self.scale.min(other.scale);
        let lift =
            |q: &Quantity| pow10((q.scale - s) as u32).and_then(|p| q.mantissa.checked_mul(p));
        match (lift(self), lift(other)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self
                .as_f64()
                .partial_cmp(&other.as_f64())
                .unwrap_or(Ordering::Equal),
        }
    }
}

/// Parse a JSON quantity (string or number, as upstream's decoder accepts).
pub fn from_json(v: &serde_json::Value) -> Option<Result<Quantity, QuantityError>> {
    match v {
        serde_json::Value::String(s) => Some(Quantity::parse(s.trim())),
        serde_json::Value::Number(n) => Some(Quantity::parse(&n.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        Quantity::parse(s).unwrap().canonical()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(c("0"), "0");
        assert_eq!(c("0.5"), "500m");
        assert_eq!(c("1000m"), "1");
        assert_eq!(c("1500m"), "1500m");
        assert_eq!(c("1.5"), "1500m");
        assert_eq!(c("100"), "100");
        assert_eq!(c("1000"), "1k");
        assert_eq!(c("1500"), "1500");
        assert_eq!(c("128Mi"), "128Mi");
        assert_eq!(c("1024Mi"), "1Gi");
        assert_eq!(c("1.5Gi"), "1536Mi");
        assert_eq!(c("512Ki"), "512Ki");
        assert_eq!(c("0.5Ki"), "512");
        assert_eq!(c("1e3"), "1e3");
        assert_eq!(c("1E6"), "1e6");
        assert_eq!(c("100M"), "100M");
        assert_eq!(c("1G"), "1G");
        assert_eq!(c("-1"), "-1");
        assert_eq!(c("+2"), "2");
        assert_eq!(c(".5"), "500m");
        assert_eq!(c("0.0000000001"), "1n");
        assert_eq!(c("250m"), "250m");
        assert_eq!(c("1.1m"), "1100u");
    }

    #[test]
    fn errors() {
        assert_eq!(Quantity::parse(""), Err(QuantityError::FormatWrong));
        assert_eq!(Quantity::parse("abc"), Err(QuantityError::FormatWrong));
        assert_eq!(Quantity::parse("1.2.3"), Err(QuantityError::FormatWrong));
        assert_eq!(Quantity::parse("1K"), Err(QuantityError::Suffix));
        assert_eq!(Quantity::parse("1Mx"), Err(QuantityError::FormatWrong));
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    #[test]
    fn rounding_and_compare() {
        let mut q = Quantity::parse("0.0001").unwrap();
        q.round_up(-3);
        assert_eq!(q.canonical(), "1m");
        let a = Quantity::parse("1").unwrap();
        let b = Quantity::parse("1000m").unwrap();
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert!(Quantity::parse("1Gi").unwrap() > Quantity::parse("1G").unwrap());
        assert_eq!(Quantity::parse("1.5").unwrap().milli_value(), 1500);
        assert_eq!(Quantity::parse("1.2").unwrap().value(), 2);
        assert_eq!(Quantity::parse("128Mi").unwrap().value(), 134217728);
    }
}
