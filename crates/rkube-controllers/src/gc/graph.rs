//! The garbage collector's view of ownership: every object of every
//! monitored resource (metadata only), its owners and its dependents.
//! Updating the graph from watch events tells the collector which objects
//! to look at: dependents whose owner went away, owners waiting for their
//! dependents (foreground deletion), owners that orphan their dependents.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::discovery::ApiResource;

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// Where an object lives.
#[derive(Clone, Debug)]
pub struct Ident {
    pub resource: Option<ApiResource>,
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub id: Ident,
    pub owners: Vec<OwnerReference>,
    pub dependents: HashSet<String>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
    /// Known only as an owner some object names; never observed.
    pub virtual_: bool,
}

impl Node {
    pub fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }

    /// Deleting in the foreground: waits for its dependents.
    pub fn deleting_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND)
    }
}

/// Work the graph asks for after a change.
#[derive(Default, Debug, PartialEq)]
pub struct Work {
    pub attempt_delete: Vec<String>,
    pub orphan: Vec<String>,
}

#[derive(Default)]
pub struct Graph {
    pub nodes: HashMap<String, Node>,
}

impl Graph {
    fn link(&mut self, owner: &OwnerReference, dependent: &str, namespace: &str, work: &mut Work) {
        let node = self.nodes.entry(owner.uid.clone()).or_insert_with(|| {
            work.attempt_delete.push(owner.uid.clone());
            Node {
                id: Ident {
                    resource: None,
                    api_version: owner.api_version.clone(),
                    kind: owner.kind.clone(),
                    // A guess until observed: namespaced owners share the
                    // dependent's namespace.
                    namespace: namespace.to_string(),
                    name: owner.name.clone(),
                    uid: owner.uid.clone(),
                },
                owners: Vec::new(),
                dependents: HashSet::new(),
                deleting: false,
                finalizers: Vec::new(),
                virtual_: true,
            }
        });
        node.dependents.insert(dependent.to_string());
    }

    fn unlink(&mut self, owner_uid: &str, dependent: &str, work: &mut Work) {
        if let Some(o) = self.nodes.get_mut(owner_uid) {
            o.dependents.remove(dependent);
            if o.deleting_dependents() {
                work.attempt_delete.push(owner_uid.to_string());
            }
            if o.virtual_ && o.dependents.is_empty() {
                self.nodes.remove(owner_uid);
            }
        }
    }

    /// An object was added or changed.
    pub fn upsert(&mut self, resource: &ApiResource, meta: &ObjectMeta) -> Work {
        let mut work = Work::default();
        let Some(uid) = meta.uid.clone() else {
            return work;
        };
        let namespace = meta.namespace.clone().unwrap_or_default();
        let owners = meta.owner_references.clone().unwrap_or_default();
        let id = Ident {
            resource: Some(resource.clone()),
            api_version: resource.api_version.clone(),
            kind: resource.kind.clone(),
            namespace: namespace.clone(),
            name: meta.name.clone().unwrap_or_default(),
            uid: uid.clone(),
        };
        let deleting = meta.deletion_timestamp.is_some();
        let finalizers = meta.finalizers.clone().unwrap_or_default();
        let old = self.nodes.get(&uid).cloned();
        let (old_owners, dependents, was_virtual) = match &old {
            Some(n) => (n.owners.clone(), n.dependents.clone(), n.virtual_),
            None => (Vec::new(), HashSet::new(), false),
        };
        // Owners added or removed, and blocking references released.
        for o in &owners {
            if !old_owners.iter().any(|x| x.uid == o.uid) {
                self.link(o, &uid, &namespace, &mut work);
            }
        }
        for o in &old_owners {
            match owners.iter().find(|x| x.uid == o.uid) {
                None => self.unlink(&o.uid, &uid, &mut work),
                Some(now)
                    if o.block_owner_deletion == Some(true)
                        && now.block_owner_deletion != Some(true) =>
                {
                    if self
                        .nodes
                        .get(&o.uid)
                        .is_some_and(|n| n.deleting_dependents())
                    {
                        work.attempt_delete.push(o.uid.clone());
                    }
                }
                Some(_) => {}
            }
        }
        let node = Node {
            id,
            owners: owners.clone(),
            dependents: dependents.clone(),
            deleting,
            finalizers,
            virtual_: false,
        };
        let starts_foreground = node.deleting_dependents()
            && !old
                .as_ref()
                .is_some_and(|o| o.deleting_dependents() && !o.virtual_);
        if node.deleting && node.has_finalizer(ORPHAN) {
            work.orphan.push(uid.clone());
        }
        if node.deleting_dependents() {
            work.attempt_delete.push(uid.clone());
            if starts_foreground {
                work.attempt_delete.extend(dependents.iter().cloned());
            }
        }
        if was_virtual && !dependents.is_empty() {
            work.attempt_delete.extend(dependents.iter().cloned());
        }
        // A new object whose owners are all gone already, or any object
        // with owners: let the collector look once.
        if old.is_none() && !owners.is_empty() {
            work.attempt_delete.push(uid.clone());
        }
        self.nodes.insert(uid, node);
        work
    }

    /// An object is gone.
    pub fn remove(&mut self, uid: &str) -> Work {
        let mut work = Work::default();
        let Some(node) = self.nodes.remove(uid) else {
            return work;
        };
        for o in &node.owners {
            self.unlink(&o.uid, uid, &mut work);
        }
        // Its dependents have lost an owner.
        work.attempt_delete.extend(node.dependents.iter().cloned());
        if !node.dependents.is_empty() {
            // Keep a virtual node so dependents still find their owner's
            // identity; the collector confirms the absence with the API.
            let mut v = node.clone();
            v.virtual_ = true;
            v.owners.clear();
            v.deleting = false;
            v.finalizers.clear();
            self.nodes.insert(uid.to_string(), v);
        }
        work
    }

    /// Drop a virtual node the API says does not exist.
    pub fn forget_virtual(&mut self, uid: &str) -> Vec<String> {
        match self.nodes.get(uid) {
            Some(n) if n.virtual_ => {
                let deps = n.dependents.iter().cloned().collect();
                self.nodes.remove(uid);
                deps
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar(kind: &str) -> ApiResource {
        ApiResource {
            group: "apps".into(),
            version: "v1".into(),
            api_version: "apps/v1".into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
        }
    }

    fn meta(uid: &str, owner: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(uid.into()),
            namespace: Some("default".into()),
            uid: Some(uid.into()),
            owner_references: owner.map(|o| {
                vec![OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    name: o.into(),
                    uid: o.into(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]
            }),
            ..Default::default()
        }
    }

    #[test]
    fn owners_and_dependents_are_linked_and_deletions_propagate() {
        let mut g = Graph::default();
        // The dependent arrives first: its owner is virtual until seen.
        let w = g.upsert(&ar("ReplicaSet"), &meta("rs", Some("d")));
        assert!(w.attempt_delete.contains(&"d".to_string()));
        assert!(g.nodes["d"].virtual_);
        g.upsert(&ar("Deployment"), &meta("d", None));
        assert!(!g.nodes["d"].virtual_);
        assert!(g.nodes["d"].dependents.contains("rs"));
        // The owner goes: its dependent is looked at.
        let w = g.remove("d");
        assert_eq!(w.attempt_delete, vec!["rs".to_string()]);
        // Foreground deletion of a new owner asks for its dependents.
        g.upsert(&ar("Deployment"), &meta("d2", None));
        g.upsert(&ar("ReplicaSet"), &meta("rs2", Some("d2")));
        let mut m = meta("d2", None);
        m.deletion_timestamp = Some(crate::util::now());
        m.finalizers = Some(vec![FOREGROUND.into()]);
        let w = g.upsert(&ar("Deployment"), &m);
        assert!(w.attempt_delete.contains(&"d2".to_string()));
        assert!(w.attempt_delete.contains(&"rs2".to_string()));
        // Its last dependent leaving asks for the owner again.
        let w = g.remove("rs2");
        assert!(w.attempt_delete.contains(&"d2".to_string()));
        // Orphaning.
        let mut m = meta("d3", None);
        m.deletion_timestamp = Some(crate::util::now());
        m.finalizers = Some(vec![ORPHAN.into()]);
        assert_eq!(
            g.upsert(&ar("Deployment"), &m).orphan,
            vec!["d3".to_string()]
        );
    }
}
