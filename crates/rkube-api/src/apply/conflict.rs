//! Apply conflicts and how kube-apiserver words them: the 409's message
//! and one `FieldManagerConflict` cause per field.

use super::fieldpath::Path;

/// A field the applier would change that another manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager as upstream prints it: `"name"`, then ` with
    /// subresource "status"` for a subresource, then ` using apps/v1` for
    /// an Update manager.
    pub manager: String,
    pub path: Path,
}

/// Every conflict of one apply, grouped by manager (sorted) and then in
/// path order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conflicts(pub Vec<Conflict>);

impl Conflicts {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The Status message: `Apply failed with 1 conflict: conflict with
    /// "m" using apps/v1: .spec.replicas`, or for several a line per
    /// manager and a `- path` line per field.
    pub fn message(&self) -> String {
        if let [only] = self.0.as_slice() {
            return format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                only.manager, only.path
            );
        }
        let mut lines: Vec<String> = Vec::new();
        let mut current: Option<&str> = None;
        for c in &self.0 {
            if current != Some(c.manager.as_str()) {
                lines.push(format!("conflicts with {}:", c.manager));
                current = Some(c.manager.as_str());
            }
            lines.push(format!("- {}", c.path));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }

    /// `(message, field)` of each cause.
    pub fn causes(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|c| (format!("conflict with {}", c.manager), c.path.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording() {
        let one = Conflicts(vec![Conflict {
            manager: "\"kubectl-client-side-apply\" using apps/v1".into(),
            path: Path::fields(&["spec", "replicas"]),
        }]);
        assert_eq!(
            one.message(),
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
        );
        assert_eq!(
            one.causes(),
            vec![(
                "conflict with \"kubectl-client-side-apply\" using apps/v1".to_string(),
                ".spec.replicas".to_string()
            )]
        );
        let two = Conflicts(vec![
            Conflict {
                manager: "\"a\"".into(),
                path: Path::fields(&["spec", "paused"]),
            },
            Conflict {
                manager: "\"a\"".into(),
                path: Path::fields(&["spec", "replicas"]),
            },
            Conflict {
                manager: "\"b\" using v1".into(),
                path: Path::fields(&["data", "k"]),
            },
        ]);
        assert_eq!(
            two.message(),
            "Apply failed with 3 conflicts: conflicts with \"a\":\n- .spec.paused\n- .spec.replicas\nconflicts with \"b\" using v1:\n- .data.k"
        );
    }
}
