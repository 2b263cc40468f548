//! Text forms the Kubernetes JSON uses for times and durations, as Go
//! writes and reads them: RFC 3339 in UTC (`2006-01-02T15:04:05Z`, with six
//! fractional digits for MicroTime) and `time.Duration` strings (`1h0m0s`).

const NANOS: i128 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Formats a Unix time in UTC; `micros` adds six fractional digits.
/// Like Go's JSON encoding, years outside 0..=9999 are an error.
pub fn format_time(seconds: i64, nanos: i64, micros: bool) -> Result<String, String> {
    let total = i128::from(seconds) * NANOS + i128::from(nanos);
    let secs = total.div_euclid(NANOS);
    let frac = total.rem_euclid(NANOS) as u32;
    let secs = i64::try_from(secs).map_err(|_| "time out of range")?;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return Err(format!("time year {y} outside of range [0,9999]"));
    }
    let (hh, mm, ss) = (sod / 3600, sod / 60 % 60, sod % 60);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
    if micros {
        out.push_str(&format!(".{:06}", frac / 1000));
    }
    out.push('Z');
    Ok(out)
}

fn digits(s: &[u8], n: usize) -> Option<u32> {
    let part = s.get(..n)?;
    part.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Parses an RFC 3339 time (`Z` or `±hh:mm`, optional fraction) into
/// (Unix seconds, nanoseconds).
pub fn parse_time(s: &str) -> Result<(i64, i32), String> {
    let err = || format!("{s:?} is not an RFC 3339 time");
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(err());
    }
    let y = digits(b, 4).ok_or_else(err)?;
    let mo = digits(&b[5..], 2).ok_or_else(err)?;
    let d = digits(&b[8..], 2).ok_or_else(err)?;
    let (hh, mi, ss) = (
        digits(&b[11..], 2).ok_or_else(err)?,
        digits(&b[14..], 2).ok_or_else(err)?,
        digits(&b[17..], 2).ok_or_else(err)?,
    );
    if !(1..=12).contains(&mo) || d == 0 || d > 31 || hh > 23 || mi > 59 || ss > 59 {
        return Err(err());
    }
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return Err(err());
        }
        nanos = digits(frac, n).ok_or_else(err)? * 10u32.pow(9 - n as u32);
        rest = &frac[n..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let h = digits(&rest[1..], 2).ok_or_else(err)?;
            let m = digits(&rest[4..], 2).ok_or_else(err)?;
            let off = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -off } else { off }
        }
        _ => return Err(err()),
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(hh * 3600 + mi * 60 + ss) - offset;
    Ok((secs, nanos as i32))
}

/// Go's `time.Duration.String()` of a nanosecond count.
pub fn format_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if nanos < 0 {
        out.push('-');
    }
    // Integer part, then the fraction without trailing zeros.
    let with_frac = |whole: u64, frac: u64, width: usize| {
        let mut s = whole.to_string();
        if frac > 0 {
            let f = format!("{frac:0width$}");
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
        s
    };
    if u < 1_000_000_000 {
        let (unit, div, width) = match u {
            0..1_000 => ("ns", 1, 0),
            1_000..1_000_000 => ("µs", 1_000, 3),
            _ => ("ms", 1_000_000, 6),
        };
        out.push_str(&with_frac(u / div, u % div, width));
        out.push_str(unit);
        return out;
    }
    let secs = u / 1_000_000_000;
    if secs >= 3600 {
        out.push_str(&format!("{}h", secs / 3600));
    }
    if secs >= 60 {
        out.push_str(&format!("{}m", secs / 60 % 60));
    }
    out.push_str(&with_frac(secs % 60, u % 1_000_000_000, 9));
    out.push('s');
    out
}

/// Go's `time.ParseDuration`: `[-+]` then number-unit pairs (`1h30m`, `1.5s`).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let err = || format!("invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int: i128 = if int_len == 0 {
            0
        } else {
            rest[..int_len].parse().map_err(|_| err())?
        };
        rest = &rest[int_len..];
        let (mut frac, mut scale) = (0i128, 1i128);
        let mut frac_len = 0;
        if let Some(r) = rest.strip_prefix('.') {
            frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            for c in r[..frac_len].bytes().take(18) {
                frac = frac * 10 + i128::from(c - b'0');
                scale *= 10;
            }
            rest = &r[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(err());
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS,
            "m" => 60 * NANOS,
            "h" => 3600 * NANOS,
            _ => return Err(err()),
        };
        rest = &rest[unit_len..];
        total = int
            .checked_mul(unit)
            .and_then(|v| v.checked_add(frac * unit / scale))
            .and_then(|v| v.checked_add(total))
            .filter(|v| *v <= i128::from(i64::MAX) + 1)
            .ok_or_else(err)?;
    }
    let total = if neg { -total } else { total };
    i64::try_from(total).map_err(|_| err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(format_time(0, 0, false).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_time(1_199_149_261, 0, false).unwrap(),
            "2008-01-01T01:01:01Z"
        );
        assert_eq!(
            format_time(1_199_149_261, 123_456_789, true).unwrap(),
            "2008-01-01T01:01:01.123456Z"
        );
        assert_eq!(format_time(-1, 0, false).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(
            format_time(951_782_400, 0, false).unwrap(),
            "2000-02-29T00:00:00Z"
        );
        assert!(format_time(i64::MAX, 0, false).is_err());
        assert!(
            format_time(-62_135_596_801, 0, false)
                .unwrap()
                .starts_with("0000-12-31")
        );
        assert!(format_time(253_402_300_800, 0, false).is_err());
        assert_eq!(
            parse_time("2008-01-01T01:01:01Z").unwrap(),
            (1_199_149_261, 0)
        );
        assert_eq!(
            parse_time("2008-01-01T02:01:01.5+01:00").unwrap(),
            (1_199_149_261, 500_000_000)
        );
        assert!(parse_time("2008-13-01T01:01:01Z").is_err());
        assert!(parse_time("2008-01-01 01:01:01").is_err());
        for secs in [-86_401i64, 0, 59, 1_700_000_000, 253_402_300_799] {
            let text = format_time(secs, 0, false).unwrap();
            assert_eq!(parse_time(&text).unwrap(), (secs, 0), "{text}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (1_000_000, "1ms"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (-61_000_000_000, "-1m1s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (n, s) in cases {
            assert_eq!(format_duration(n), s);
            assert_eq!(parse_duration(s).unwrap(), n, "{s}");
        }
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("2us").unwrap(), 2_000);
        for bad in ["", "1", "h", "1x", ".s", "99999999999h", "-"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
