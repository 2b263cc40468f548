//! Pod IPs from a node's pod CIDR: the network address, the gateway
//! (.1) and the broadcast address are never handed out.

use std::collections::HashSet;
use std::net::Ipv4Addr;

#[derive(Debug)]
pub(crate) struct Ipam {
    first: u32,
    last: u32,
    next: u32,
    used: HashSet<u32>,
}

impl Ipam {
    pub(crate) fn new(cidr: &str) -> anyhow::Result<Ipam> {
        let (addr, bits) = cidr
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("pod CIDR {cidr:?} is not address/prefix"))?;
        let addr: Ipv4Addr = addr.parse()?;
        let bits: u32 = bits.parse()?;
        anyhow::ensure!(bits <= 30, "pod CIDR {cidr} is too small");
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        let network = u32::from(addr) & mask;
        let broadcast = network | !mask;
        Ok(Ipam {
            first: network + 2,
            last: broadcast - 1,
            next: network + 2,
            used: HashSet::new(),
        })
    }

    /// The next free address, round-robin so a freed IP is not reused at
    /// once; None when the range is exhausted.
    pub(crate) fn allocate(&mut self) -> Option<Ipv4Addr> {
        let size = self.last - self.first + 1;
        for _ in 0..size {
            let candidate = self.next;
            self.next = if self.next >= self.last {
                self.first
            } else {
                self.next + 1
            };
            if self.used.insert(candidate) {
                return Some(Ipv4Addr::from(candidate));
            }
        }
        None
    }

    /// Mark an address already in use (a pod found running at start-up).
    pub(crate) fn claim(&mut self, ip: Ipv4Addr) -> bool {
        let v = u32::from(ip);
        (self.first..=self.last).contains(&v) && self.used.insert(v)
    }

    pub(crate) fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&u32::from(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_hosts_skipping_network_gateway_and_broadcast() {
        let mut ipam = Ipam::new("10.244.1.0/30").unwrap();
        assert_eq!(ipam.allocate(), Some(Ipv4Addr::new(10, 244, 1, 2)));
        assert_eq!(ipam.allocate(), None);
        ipam.release(Ipv4Addr::new(10, 244, 1, 2));
        assert_eq!(ipam.allocate(), Some(Ipv4Addr::new(10, 244, 1, 2)));
    }

    #[test]
    fn claimed_addresses_are_skipped() {
        let mut ipam = Ipam::new("10.244.1.0/24").unwrap();
        assert!(ipam.claim(Ipv4Addr::new(10, 244, 1, 2)));
        assert!(!ipam.claim(Ipv4Addr::new(10, 244, 2, 2)));
        assert_eq!(ipam.allocate(), Some(Ipv4Addr::new(10, 244, 1, 3)));
        let all: Vec<_> = std::iter::from_fn(|| ipam.allocate()).collect();
        assert_eq!(all.len(), 251);
        assert_eq!(all.last(), Some(&Ipv4Addr::new(10, 244, 1, 254)));
    }
}
