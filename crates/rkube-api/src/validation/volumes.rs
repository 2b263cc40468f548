//! Pod volumes and their sources.

use std::collections::HashSet;

use serde_json::Value;

use super::containers;
use super::util::{
    arr, duplicate, each_msg, empty, forbidden, get, int, invalid_int, invalid_str, not_supported,
    required, required_msg, s,
};
use crate::names::check_dns1123_label;
use crate::status::Cause;

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const HOST_PATH_TYPES: &[&str] = &[
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
];

/// Volume source keys in the order upstream checks them, with the path
/// segment its errors use (two differ from the JSON name upstream).
const SOURCES: &[(&str, &str)] = &[
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

fn file_mode(v: &Value, key: &str, path: &str) -> Vec<Cause> {
    match int(v, key) {
        Some(m) if !(0..=0o777).contains(&m) => {
            vec![invalid_int(format!("{path}.{key}"), m, FILE_MODE_MSG)]
        }
        _ => Vec::new(),
    }
}

fn key_to_paths(v: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, kp) in arr(v, "items").iter().enumerate() {
        let p = format!("{path}.items[{i}]");
        if s(kp, "key").is_empty() {
            errs.push(required(format!("{p}.key")));
        }
        let kp_path = s(kp, "path");
        if kp_path.is_empty() {
            errs.push(required(format!("{p}.path")));
        }
        errs.extend(super::env::descending_path(kp_path, &format!("{p}.path")));
        errs.extend(file_mode(kp, "mode", &p));
    }
    errs
}

fn source(key: &str, src: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    match key {
        "emptyDir" => {
            if let Some(q) = src.get("sizeLimit").filter(|v| !v.is_null())
                && containers::parse_quantity(q, path).is_ok_and(|q| q.signum() < 0)
            {
                errs.push(forbidden(
                    format!("{path}.sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                ));
            }
        }
        "hostPath" => {
            let p = s(src, "path");
            if p.is_empty() {
                return vec![required(format!("{path}.path"))];
            }
            if p.split('/').any(|part| part == "..") {
                errs.push(invalid_str(
                    format!("{path}.path"),
                    p,
                    "must not contain '..'",
                ));
            }
            let ty = s(src, "type");
            if !HOST_PATH_TYPES.contains(&ty) {
                errs.push(not_supported(
                    format!("{path}.type"),
                    get(src, "type"),
                    HOST_PATH_TYPES,
                ));
            }
        }
        "secret" => {
            if s(src, "secretName").is_empty() {
                errs.push(required(format!("{path}.secretName")));
            }
            errs.extend(file_mode(src, "defaultMode", path));
            errs.extend(key_to_paths(src, path));
        }
        "configMap" => {
            if s(src, "name").is_empty() {
                errs.push(required(format!("{path}.name")));
            }
            errs.extend(file_mode(src, "defaultMode", path));
            errs.extend(key_to_paths(src, path));
        }
        "persistentVolumeClaim" if s(src, "claimName").is_empty() => {
            errs.push(required(format!("{path}.claimName")));
        }
        "nfs" => {
            if s(src, "server").is_empty() {
                errs.push(required(format!("{path}.server")));
            }
            let p = s(src, "path");
            if p.is_empty() {
                errs.push(required(format!("{path}.path")));
            } else if !p.starts_with('/') {
                errs.push(invalid_str(
                    format!("{path}.path"),
                    p,
                    "must be an absolute path",
                ));
            }
        }
        "downwardAPI" | "projected" => errs.extend(file_mode(src, "defaultMode", path)),
        "csi" if s(src, "driver").is_empty() => errs.push(required(format!("{path}.driver"))),
        "ephemeral" if empty(src.get("volumeClaimTemplate")) => {
            errs.push(required(format!("{path}.volumeClaimTemplate")));
        }
        _ => {}
    }
    errs
}

/// Volumes; returns the names later mounts may refer to.
pub(super) fn volumes(spec: &Value, path: &str) -> (HashSet<String>, Vec<Cause>) {
    let mut names = HashSet::new();
    let mut errs = Vec::new();
    for (i, v) in arr(spec, "volumes").iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut el = Vec::new();
        let mut count = 0;
        for (key, shown) in SOURCES {
            let Some(src) = v.get(*key).filter(|x| !x.is_null()) else {
                continue;
            };
            let sp = format!("{p}.{shown}");
            if count > 0 {
                el.push(forbidden(sp, "may not specify more than 1 volume type"));
                continue;
            }
            count += 1;
            el.extend(source(key, src, &sp));
        }
        if count == 0 {
            el.push(required_msg(p.clone(), "must specify a volume type"));
        }
        let name = s(v, "name");
        if name.is_empty() {
            el.push(required(format!("{p}.name")));
        } else {
            el.extend(each_msg(
                &format!("{p}.name"),
                name,
                check_dns1123_label(name),
            ));
        }
        if names.contains(name) {
            el.push(duplicate(format!("{p}.name"), get(v, "name")));
        }
        if el.is_empty() {
            names.insert(name.to_string());
        } else {
            errs.extend(el);
        }
    }
    (names, errs)
}
