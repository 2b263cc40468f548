//! Resource quantities ("500m", "1.5", "64Mi", "1e3", "2G") as integers:
//! CPU in millicores, everything else in units, rounded up as
//! kube-scheduler does.

/// `s` times `multiplier` (1000 for millicores, 1 for bytes), rounded up;
/// None when `s` is not a quantity.
pub(crate) fn scaled(s: &str, multiplier: i128) -> Option<i64> {
    let s = s.trim();
    let num_end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '+' || c == '-') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    let (number, suffix) = s.split_at(num_end);
    let (negative, number) = match number.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut mantissa: i128 = 0;
    for c in int.chars().chain(frac.chars()) {
        let d = c.to_digit(10)? as i128;
        mantissa = mantissa.checked_mul(10)?.checked_add(d)?;
    }
    let mut exp10: i32 = -(frac.len() as i32);
    let mut binary: i128 = 1;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => binary = 1 << 10,
        "Mi" => binary = 1 << 20,
        "Gi" => binary = 1 << 30,
        "Ti" => binary = 1 << 40,
        "Pi" => binary = 1 << 50,
        "Ei" => binary = 1 << 60,
        e if e.starts_with(['e', 'E']) => exp10 += e[1..].parse::<i32>().ok()?,
        _ => return None,
    }
    let mut value = mantissa.checked_mul(binary)?.checked_mul(multiplier)?;
    if exp10 >= 0 {
        for _ in 0..exp10 {
            value = match value.checked_mul(10) {
                Some(v) => v,
                None => return Some(if negative { i64::MIN } else { i64::MAX }),
            };
        }
    } else {
        let mut div: i128 = 1;
        for _ in 0..(-exp10).min(38) {
            div *= 10;
        }
        value = (value + div - 1) / div;
    }
    let value = i64::try_from(value).unwrap_or(i64::MAX);
    Some(if negative { -value } else { value })
}

pub(crate) fn milli(s: &str) -> Option<i64> {
    scaled(s, 1000)
}

pub(crate) fn units(s: &str) -> Option<i64> {
    scaled(s, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_in_millicores() {
        assert_eq!(milli("1"), Some(1000));
        assert_eq!(milli("500m"), Some(500));
        assert_eq!(milli("0.1"), Some(100));
        assert_eq!(milli("1.5"), Some(1500));
        assert_eq!(milli("100u"), Some(1));
        assert_eq!(milli("2e3"), Some(2_000_000));
        assert_eq!(milli("x"), None);
        assert_eq!(milli(""), None);
    }

    #[test]
    fn memory_in_bytes() {
        assert_eq!(units("64Mi"), Some(64 << 20));
        assert_eq!(units("1Gi"), Some(1 << 30));
        assert_eq!(units("1G"), Some(1_000_000_000));
        assert_eq!(units("128974848"), Some(128_974_848));
        assert_eq!(units("129e6"), Some(129_000_000));
        assert_eq!(units("123Mi"), Some(123 << 20));
        assert_eq!(units("1.5Ki"), Some(1536));
        assert_eq!(units("500m"), Some(1), "rounded up");
        assert_eq!(units("110"), Some(110));
        assert_eq!(units("12Zi"), None);
    }
}
