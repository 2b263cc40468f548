//! Services.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::Value;

use super::containers::port_num_or_name;
use super::meta;
use super::util::{
    arr, duplicate, duplicate_raw, each_msg, forbidden, get, go_quote, go_string_slice, has, int,
    invalid_int, invalid_raw, invalid_str, not_supported, required, required_msg, s,
};
use crate::catalogue::ResourceDef;
use crate::names::{
    check_dns1123_label, check_dns1123_subdomain, check_port_num, check_qualified_name,
};
use crate::status::Cause;

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const KUBELET_PORT: i64 = 10250;
const MAX_AFFINITY_SECONDS: i64 = 86400;
const IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

fn spec(svc: &Value) -> &Value {
    get(svc, "spec")
}

fn cluster_ips(sp: &Value) -> Vec<&str> {
    arr(sp, "clusterIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

fn is_headless(sp: &Value) -> bool {
    let ips = cluster_ips(sp);
    s(sp, "type") == "ClusterIP" && ips.len() == 1 && ips[0] == "None"
}

fn externally_accessible(sp: &Value) -> bool {
    let ty = s(sp, "type");
    ty == "LoadBalancer"
        || ty == "NodePort"
        || (ty == "ClusterIP" && !arr(sp, "externalIPs").is_empty())
}

fn parse_ip(v: &str) -> Option<IpAddr> {
    v.parse().ok()
}

fn special_ip(ip: IpAddr) -> Option<&'static str> {
    let (unspecified, loopback, link_local, link_local_mc) = match ip {
        IpAddr::V4(a) => (
            a.is_unspecified(),
            a.is_loopback(),
            a.is_link_local(),
            a.octets()[..3] == [224, 0, 0],
        ),
        IpAddr::V6(a) => (
            a.is_unspecified(),
            a.is_loopback(),
            (a.segments()[0] & 0xffc0) == 0xfe80,
            (a.segments()[0] & 0xff0f) == 0xff02,
        ),
    };
    if unspecified {
        Some("may not be unspecified (0.0.0.0)")
    } else if loopback {
        Some("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    } else if link_local {
        Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    } else if link_local_mc {
        Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    } else {
        None
    }
}

fn port(p: &Value, path: &str, require_name: bool, names: &mut HashSet<String>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let name = s(p, "name");
    if require_name && name.is_empty() {
        errs.push(required(format!("{path}.name")));
    } else if !name.is_empty() {
        errs.extend(each_msg(
            &format!("{path}.name"),
            name,
            check_dns1123_label(name),
        ));
        if !names.insert(name.to_string()) {
            errs.push(duplicate(format!("{path}.name"), get(p, "name")));
        }
    }
    let n = int(p, "port").unwrap_or(0);
    errs.extend(
        check_port_num(n)
            .iter()
            .map(|m| invalid_int(format!("{path}.port"), n, m)),
    );
    match s(p, "protocol") {
        "" => errs.push(required(format!("{path}.protocol"))),
        proto if !PROTOCOLS.contains(&proto) => errs.push(not_supported(
            format!("{path}.protocol"),
            get(p, "protocol"),
            PROTOCOLS,
        )),
        _ => {}
    }
    errs.extend(port_num_or_name(
        get(p, "targetPort"),
        &format!("{path}.targetPort"),
    ));
    let app = s(p, "appProtocol");
    if has(p, "appProtocol") {
        errs.extend(each_msg(
            &format!("{path}.appProtocol"),
            app,
            check_qualified_name(app),
        ));
    }
    errs
}

/// How `%#v` prints the (protocol, port) key of a duplicate service port.
fn go_port_key(p: &Value) -> String {
    format!(
        "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
        go_quote(s(p, "protocol")),
        int(p, "port").unwrap_or(0)
    )
}

fn cluster_ip_fields(sp: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if s(sp, "type") == "ExternalName" {
        return errs;
    }
    let ips = cluster_ips(sp);
    let shown = go_string_slice(sp.get("clusterIPs"));
    let single = s(sp, "clusterIP");
    if !single.is_empty() {
        if ips.is_empty() {
            errs.push(required("spec.clusterIPs"));
        } else if ips[0] != single {
            errs.push(invalid_raw(
                "spec.clusterIPs",
                &shown,
                "first value must match `clusterIP`",
            ));
        }
    } else if !ips.is_empty() {
        errs.push(invalid_raw(
            "spec.clusterIPs",
            &shown,
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let mut seen = HashSet::new();
    for (i, f) in arr(sp, "ipFamilies").iter().enumerate() {
        let fam = f.as_str().unwrap_or_default();
        if fam != "IPv4" && fam != "IPv6" {
            errs.push(not_supported(
                format!("spec.ipFamilies[{i}]"),
                f,
                &["IPv4", "IPv6"],
            ));
        }
        if !seen.insert(fam) {
            errs.push(duplicate(format!("spec.ipFamilies[{i}]"), f));
        }
    }
    if has(sp, "ipFamilyPolicy") {
        let policies = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !policies.contains(&s(sp, "ipFamilyPolicy")) {
            errs.push(not_supported(
                "spec.ipFamilyPolicy",
                get(sp, "ipFamilyPolicy"),
                &policies,
            ));
        }
    }
    let mut bad = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                bad = true;
                errs.push(invalid_raw(
                    "spec.clusterIPs",
                    &shown,
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        if parse_ip(ip).is_none() {
            bad = true;
            errs.push(invalid_str(format!("spec.clusterIPs[{i}]"), ip, IP_MSG));
        }
    }
    if ips.len() > 2 {
        errs.push(invalid_raw(
            "spec.clusterIPs",
            &shown,
            "may only hold up to 2 values",
        ));
    }
    if bad {
        return errs;
    }
    if ips.len() > 1 {
        let v6: Vec<bool> = ips
            .iter()
            .filter_map(|ip| parse_ip(ip))
            .map(|a| a.is_ipv6())
            .collect();
        if !(v6.len() == 2 && v6[0] != v6[1]) {
            errs.push(invalid_raw(
                "spec.clusterIPs",
                &shown,
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    let families = arr(sp, "ipFamilies");
    if !is_headless(sp) {
        for (i, ip) in ips.iter().enumerate().take(families.len()) {
            let is_v6 = parse_ip(ip).is_some_and(|a| a.is_ipv6());
            match families[i].as_str() {
                Some("IPv4") if is_v6 => errs.push(invalid_str(
                    format!("spec.clusterIPs[{i}]"),
                    ip,
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                )),
                Some("IPv6") if !is_v6 => errs.push(invalid_str(
                    format!("spec.clusterIPs[{i}]"),
                    ip,
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                )),
                _ => {}
            }
        }
    }
    errs
}

fn spec_rules(svc: &Value) -> Vec<Cause> {
    let sp = spec(svc);
    let ty = s(sp, "type");
    let headless = is_headless(sp);
    let ports = arr(sp, "ports");
    let mut errs = Vec::new();
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(required("spec.ports"));
    }
    match ty {
        "LoadBalancer" | "NodePort" => {
            if ty == "LoadBalancer" {
                for (i, p) in ports.iter().enumerate() {
                    if int(p, "port") == Some(KUBELET_PORT) {
                        errs.push(invalid_int(
                            format!("spec.ports[{i}]"),
                            KUBELET_PORT,
                            &format!("may not expose port {KUBELET_PORT} externally since it is used by kubelet"),
                        ));
                    }
                }
            }
            if headless {
                errs.push(invalid_str(
                    "spec.clusterIPs[0]",
                    "None",
                    &format!("may not be set to 'None' for {ty} services"),
                ));
            }
        }
        "ExternalName" => {
            if !arr(sp, "clusterIPs").is_empty() {
                errs.push(forbidden(
                    "spec.clusterIPs",
                    "may not be set for ExternalName services",
                ));
            }
            if !arr(sp, "ipFamilies").is_empty() {
                errs.push(forbidden(
                    "spec.ipFamilies",
                    "may not be set for ExternalName services",
                ));
            }
            if has(sp, "ipFamilyPolicy") {
                errs.push(forbidden(
                    "spec.ipFamilyPolicy",
                    "may not be set for ExternalName services",
                ));
            }
            let cname = s(sp, "externalName").trim_end_matches('.');
            if cname.is_empty() {
                errs.push(required("spec.externalName"));
            } else {
                errs.extend(each_msg(
                    "spec.externalName",
                    cname,
                    check_dns1123_subdomain(cname),
                ));
            }
        }
        _ => {}
    }
    let mut names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        errs.extend(port(
            p,
            &format!("spec.ports[{i}]"),
            ports.len() > 1,
            &mut names,
        ));
    }
    errs.extend(meta::labels(sp.get("selector"), "spec.selector"));
    errs.extend(session_affinity(sp));
    errs.extend(cluster_ip_fields(sp));
    for (i, ip) in arr(sp, "externalIPs").iter().enumerate() {
        let text = ip.as_str().unwrap_or_default();
        match parse_ip(text) {
            None => errs.push(invalid_str(format!("spec.externalIPs[{i}]"), text, IP_MSG)),
            Some(a) => {
                if let Some(msg) = special_ip(a) {
                    errs.push(invalid_str(format!("spec.externalIPs[{i}]"), text, msg));
                }
            }
        }
    }
    if ty.is_empty() {
        errs.push(required("spec.type"));
    } else if !TYPES.contains(&ty) {
        errs.push(not_supported("spec.type", get(sp, "type"), TYPES));
    }
    errs.extend(port_rules(sp, ty));
    errs.extend(traffic_policies(sp, ty));
    errs
}

fn session_affinity(sp: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let affinity = s(sp, "sessionAffinity");
    match affinity {
        "" => errs.push(required("spec.sessionAffinity")),
        "ClientIP" | "None" => {}
        _ => errs.push(not_supported(
            "spec.sessionAffinity",
            get(sp, "sessionAffinity"),
            &["ClientIP", "None"],
        )),
    }
    let detail = "when session affinity type is ClientIP";
    let cfg = get(sp, "sessionAffinityConfig");
    if affinity == "ClientIP" {
        if cfg.is_null() {
            errs.push(required_msg("spec.sessionAffinityConfig", detail));
        } else if get(cfg, "clientIP").is_null() {
            errs.push(required_msg("spec.sessionAffinityConfig.clientIP", detail));
        } else {
            match int(get(cfg, "clientIP"), "timeoutSeconds") {
                None => errs.push(required_msg(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    detail,
                )),
                Some(t) if t <= 0 || t > MAX_AFFINITY_SECONDS => errs.push(invalid_int(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    t,
                    &format!("must be greater than 0 and less than {MAX_AFFINITY_SECONDS}"),
                )),
                _ => {}
            }
        }
    } else if affinity == "None" && !cfg.is_null() {
        errs.push(forbidden(
            "spec.sessionAffinityConfig",
            "must not be set when session affinity is None",
        ));
    }
    errs
}

fn port_rules(sp: &Value, ty: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let ports = arr(sp, "ports");
    if ty == "ClusterIP" {
        for (i, p) in ports.iter().enumerate() {
            if int(p, "nodePort").unwrap_or(0) != 0 {
                errs.push(forbidden(
                    format!("spec.ports[{i}].nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let np = int(p, "nodePort").unwrap_or(0);
        if np != 0 && !node_ports.insert((s(p, "protocol").to_string(), np)) {
            errs.push(duplicate_raw(
                format!("spec.ports[{i}].nodePort"),
                &np.to_string(),
            ));
        }
    }
    let mut keys = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        if !keys.insert((s(p, "protocol").to_string(), int(p, "port").unwrap_or(0))) {
            errs.push(duplicate_raw(format!("spec.ports[{i}]"), &go_port_key(p)));
        }
    }
    if !arr(sp, "loadBalancerSourceRanges").is_empty() && ty != "LoadBalancer" {
        errs.push(forbidden(
            "spec.LoadBalancerSourceRanges",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if has(sp, "allocateLoadBalancerNodePorts") && ty != "LoadBalancer" {
        errs.push(forbidden(
            "spec.allocateLoadBalancerNodePorts",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if ty == "LoadBalancer" && !has(sp, "allocateLoadBalancerNodePorts") {
        errs.push(required("allocateLoadBalancerNodePorts"));
    }
    if has(sp, "loadBalancerClass") && ty != "LoadBalancer" {
        errs.push(forbidden(
            "spec.loadBalancerClass",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    errs
}

fn traffic_policies(sp: &Value, ty: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let etp = s(sp, "externalTrafficPolicy");
    if !externally_accessible(sp) {
        if !etp.is_empty() {
            errs.push(invalid_str(
                "spec.externalTrafficPolicy",
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(required("spec.externalTrafficPolicy"));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(not_supported(
            "spec.externalTrafficPolicy",
            get(sp, "externalTrafficPolicy"),
            &["Cluster", "Local"],
        ));
    }
    let needs_health_check = ty == "LoadBalancer" && etp == "Local";
    let hc = int(sp, "healthCheckNodePort").unwrap_or(0);
    if !needs_health_check && hc != 0 {
        errs.push(invalid_int(
            "spec.healthCheckNodePort",
            hc,
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ));
    }
    if !has(sp, "internalTrafficPolicy") {
        if matches!(ty, "NodePort" | "LoadBalancer" | "ClusterIP") {
            errs.push(required_msg(
                "spec.internalTrafficPolicy",
                "must be specified when `type` is 'ClusterIP', 'NodePort', or 'LoadBalancer'",
            ));
        }
    } else if !matches!(s(sp, "internalTrafficPolicy"), "Cluster" | "Local") {
        errs.push(not_supported(
            "spec.internalTrafficPolicy",
            get(sp, "internalTrafficPolicy"),
            &["Cluster", "Local"],
        ));
    }
    errs
}

pub(crate) fn create(def: &ResourceDef, svc: &Value) -> Vec<Cause> {
    let mut errs = meta::create(def, svc);
    errs.extend(spec_rules(svc));
    errs
}

/// Cluster IPs may be added or released (secondary only) but not changed,
/// except when the service is or becomes ExternalName.
pub(crate) fn update(def: &ResourceDef, svc: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = meta::update(def, svc, old);
    let (sp, op) = (spec(svc), spec(old));
    let external = s(sp, "type") == "ExternalName" || s(op, "type") == "ExternalName";
    let both_headless = is_headless(sp) && is_headless(op);
    if !external && !both_headless {
        let (new_ips, old_ips) = (cluster_ips(sp), cluster_ips(op));
        let shown = go_string_slice(sp.get("clusterIPs"));
        let changed = |errs: &mut Vec<Cause>, i: usize| {
            errs.push(invalid_raw(
                format!("spec.clusterIPs[{i}]"),
                &shown,
                "may not change once set",
            ));
        };
        if new_ips.len() == old_ips.len() {
            for (i, ip) in old_ips.iter().enumerate() {
                if *ip != new_ips[i] {
                    changed(&mut errs, i);
                }
            }
        } else if old_ips.len() > new_ips.len() {
            if new_ips.is_empty() {
                errs.push(invalid_raw(
                    "spec.clusterIPs[0]",
                    &shown,
                    "primary clusterIP can not be unset",
                ));
            }
            if !old_ips.is_empty() && !new_ips.is_empty() && new_ips[0] != old_ips[0] {
                changed(&mut errs, 0);
            }
            if new_ips.len() == 1 && s(sp, "ipFamilyPolicy") != "SingleStack" {
                errs.push(invalid_raw(
                    "spec.clusterIPs[0]",
                    &shown,
                    "`ipFamilyPolicy` must be set to 'SingleStack' when releasing the secondary clusterIP",
                ));
            }
        } else if !old_ips.is_empty() && new_ips[0] != old_ips[0] {
            changed(&mut errs, 0);
        }
        let (nf, of) = (arr(sp, "ipFamilies"), arr(op, "ipFamilies"));
        if !of.is_empty() && !nf.is_empty() && nf[0] != of[0] {
            errs.push(invalid_raw(
                "spec.ipFamilies[0]",
                &go_string_slice(sp.get("ipFamilies")),
                "may not change once set",
            ));
        }
    }
    errs.extend(spec_rules(svc));
    errs
}
