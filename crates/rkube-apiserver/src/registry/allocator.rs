//! Cluster IPs and node ports for Services, allocated from the configured
//! ranges (`--service-cluster-ip-range`, `--service-node-port-range`) and
//! released when a Service goes. The in-memory set is rebuilt from stored
//! Services at start, so a restart never hands out an address twice.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Mutex;

use rand::Rng;

pub struct ServiceAllocator {
    base: u32,
    size: u32,
    ports: (u16, u16),
    used: Mutex<Used>,
}

#[derive(Default)]
struct Used {
    ips: HashSet<u32>,
    ports: HashSet<u16>,
}

/// Parse `10.96.0.0/12`.
pub fn parse_cidr(cidr: &str) -> Result<(Ipv4Addr, u8), String> {
    let (ip, bits) = cidr
        .split_once('/')
        .ok_or_else(|| format!("invalid CIDR {cidr}"))?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| format!("invalid CIDR {cidr}"))?;
    let bits: u8 = bits.parse().map_err(|_| format!("invalid CIDR {cidr}"))?;
    if !(8..=30).contains(&bits) {
        return Err(format!(
            "CIDR {cidr}: prefix length must be between 8 and 30"
        ));
    }
    Ok((ip, bits))
}

impl ServiceAllocator {
    pub fn new(cidr: &str, ports: (u16, u16)) -> Result<Self, String> {
        let (ip, bits) = parse_cidr(cidr)?;
        let mask = u32::MAX << (32 - bits);
        Ok(ServiceAllocator {
            base: u32::from(ip) & mask,
            size: 1 << (32 - bits),
            ports,
            used: Mutex::new(Used::default()),
        })
    }

    /// The first address of the range, which the `kubernetes` Service gets.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1)
    }

    fn contains(&self, ip: u32) -> bool {
        // The network and broadcast addresses are never handed out.
        ip > self.base && ip < self.base + self.size - 1
    }

    /// Allocate `requested`, or a random free address.
    pub fn allocate_ip(&self, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, String> {
        let mut used = self.used.lock().expect("allocator lock");
        if let Some(ip) = requested {
            let n = u32::from(ip);
            if !self.contains(n) {
                return Err(format!(
                    "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}/{}",
                    Ipv4Addr::from(self.base),
                    32 - self.size.trailing_zeros()
                ));
            }
            if !used.ips.insert(n) {
                return Err(format!(
                    "failed to allocate IP {ip}: provided IP is already allocated"
                ));
            }
            return Ok(ip);
        }
        let usable = self.size - 2;
        if used.ips.len() as u32 >= usable {
            return Err("failed to allocate a serviceIP: range is full".into());
        }
        let start = rand::rng().random_range(0..usable);
        for i in 0..usable {
            // Skip the first address: it is reserved for `kubernetes`.
            let candidate = self.base + 2 + (start + i) % (usable - 1);
            if used.ips.insert(candidate) {
                return Ok(Ipv4Addr::from(candidate));
            }
        }
        Err("failed to allocate a serviceIP: range is full".into())
    }

    pub fn release_ip(&self, ip: &str) {
        if let Ok(ip) = ip.parse::<Ipv4Addr>() {
            self.used
                .lock()
                .expect("allocator lock")
                .ips
                .remove(&u32::from(ip));
        }
    }

    /// Mark an address as used without checks (rebuilding state at start).
    pub fn mark_ip(&self, ip: &str) {
        if let Ok(ip) = ip.parse::<Ipv4Addr>() {
            self.used
                .lock()
                .expect("allocator lock")
                .ips
                .insert(u32::from(ip));
        }
    }

    pub fn allocate_port(&self, requested: Option<u16>) -> Result<u16, String> {
        let (lo, hi) = self.ports;
        let mut used = self.used.lock().expect("allocator lock");
        if let Some(p) = requested {
            if p < lo || p > hi {
                return Err(format!(
                    "provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
                ));
            }
            if !used.ports.insert(p) {
                return Err("provided port is already allocated".into());
            }
            return Ok(p);
        }
        let span = u32::from(hi - lo) + 1;
        let start = rand::rng().random_range(0..span);
        for i in 0..span {
            let p = lo + ((start + i) % span) as u16;
            if used.ports.insert(p) {
                return Ok(p);
            }
        }
        Err("range is full".into())
    }

    pub fn release_port(&self, port: u16) {
        self.used
            .lock()
            .expect("allocator lock")
            .ports
            .remove(&port);
    }

    pub fn mark_port(&self, port: u16) {
        self.used.lock().expect("allocator lock").ports.insert(port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_inside_the_range_without_repeats() {
        let a = ServiceAllocator::new("10.96.0.0/28", (30000, 30002)).unwrap();
        assert_eq!(a.first_ip().to_string(), "10.96.0.1");
        a.allocate_ip(Some(a.first_ip())).unwrap();
        let mut seen = HashSet::new();
        for _ in 0..13 {
            let ip = a.allocate_ip(None).unwrap();
            assert!(seen.insert(ip), "{ip} twice");
        }
        assert!(a.allocate_ip(None).is_err());
        assert!(a.allocate_ip(Some("10.96.0.1".parse().unwrap())).is_err());
        for _ in 0..3 {
            a.allocate_port(None).unwrap();
        }
        assert!(a.allocate_port(None).is_err());
        a.release_port(30001);
        assert_eq!(a.allocate_port(None).unwrap(), 30001);
    }
}
