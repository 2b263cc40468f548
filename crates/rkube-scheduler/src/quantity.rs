//! Resource quantities ("500m", "1.5", "64Mi", "1e3", "2G") as integers:
//! CPU in millicores, everything else in units, rounded up as
//! kube-scheduler does (`MilliValue()` and `Value()`), over rkube-api's
//! one `Quantity`.

use rkube_api::quantity::Quantity;

pub(crate) fn milli(s: &str) -> Option<i64> {
    Quantity::parse(s.trim()).ok().map(|q| q.milli_value())
}

pub(crate) fn units(s: &str) -> Option<i64> {
    Quantity::parse(s.trim()).ok().map(|q| q.value())
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
