//! Units of billing: the tenants and agreements whose plan lines depend on each other. A tenant
//! links the agreement it is mapped to and every agreement holding additions managed for it (its
//! usage moves between them); tenants mapped to one agreement share its lines. Nothing outside a
//! unit changes its plan, so units are planned and written independently of each other.

use std::collections::{BTreeMap, BTreeSet};

use super::ids::AgreementId;

/// One unit: its tenants and its agreements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unit {
    pub tenants: BTreeSet<String>,
    pub agreements: BTreeSet<AgreementId>,
}

/// Groups `(tenant, agreement)` links (a link without a tenant is an agreement of its own) into
/// units, ordered by their smallest agreement.
pub fn units<'a>(links: impl IntoIterator<Item = (Option<&'a str>, AgreementId)>) -> Vec<Unit> {
    let mut parent: BTreeMap<AgreementId, AgreementId> = BTreeMap::new();
    fn root(parent: &mut BTreeMap<AgreementId, AgreementId>, a: AgreementId) -> AgreementId {
        let mut r = a;
        while let Some(&p) = parent.get(&r).filter(|&&p| p != r) {
            r = p;
        }
        // Path compression keeps later look-ups short.
        let mut node = a;
        while node != r {
            let next = parent[&node];
            parent.insert(node, r);
            node = next;
        }
        r
    }
    let mut tenant_agreement: BTreeMap<&str, AgreementId> = BTreeMap::new();
    for (tenant, agreement) in links {
        parent.entry(agreement).or_insert(agreement);
        let Some(tenant) = tenant else { continue };
        let first = *tenant_agreement.entry(tenant).or_insert(agreement);
        let (a, b) = (root(&mut parent, first), root(&mut parent, agreement));
        if a != b {
            parent.insert(a.max(b), a.min(b));
        }
    }
    let mut by_root: BTreeMap<AgreementId, Unit> = BTreeMap::new();
    let agreements: Vec<AgreementId> = parent.keys().copied().collect();
    for agreement in agreements {
        let r = root(&mut parent, agreement);
        by_root.entry(r).or_default().agreements.insert(agreement);
    }
    for (tenant, agreement) in tenant_agreement {
        let r = root(&mut parent, agreement);
        if let Some(unit) = by_root.get_mut(&r) {
            unit.tenants.insert(tenant.to_string());
        }
    }
    let mut all: Vec<Unit> = by_root.into_values().collect();
    all.sort_by_key(|u| u.agreements.first().copied());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(tenants: &[&str], agreements: &[i64]) -> Unit {
        Unit {
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            agreements: agreements.iter().copied().map(AgreementId).collect(),
        }
    }

    #[test]
    fn units_table() {
        /// (case, links, units)
        type Case<'a> = (&'a str, Vec<(Option<&'a str>, i64)>, Vec<Unit>);
        let cases: Vec<Case> = vec![
            ("nothing", vec![], vec![]),
            (
                "one tenant per agreement",
                vec![(Some("a"), 1), (Some("b"), 2)],
                vec![unit(&["a"], &[1]), unit(&["b"], &[2])],
            ),
            (
                "two tenants share an agreement",
                vec![(Some("a"), 1), (Some("b"), 1), (Some("c"), 3)],
                vec![unit(&["a", "b"], &[1]), unit(&["c"], &[3])],
            ),
            (
                "a tenant moved: its old agreement joins its new one",
                vec![(Some("a"), 5), (Some("a"), 2), (Some("b"), 9)],
                vec![unit(&["a"], &[2, 5]), unit(&["b"], &[9])],
            ),
            (
                "a chain: a on 1 and 2, b on 2 and 3",
                vec![
                    (Some("a"), 1),
                    (Some("b"), 3),
                    (Some("a"), 2),
                    (Some("b"), 2),
                ],
                vec![unit(&["a", "b"], &[1, 2, 3])],
            ),
            (
                "managed additions of no known tenant stand alone",
                vec![(None, 4), (Some("a"), 1), (None, 1)],
                vec![unit(&["a"], &[1]), unit(&[], &[4])],
            ),
            (
                "a long chain in reverse order",
                vec![
                    (Some("d"), 4),
                    (Some("d"), 3),
                    (Some("c"), 3),
                    (Some("c"), 2),
                    (Some("b"), 2),
                    (Some("b"), 1),
                ],
                vec![unit(&["b", "c", "d"], &[1, 2, 3, 4])],
            ),
        ];
        for (name, links, expected) in cases {
            let links = links.into_iter().map(|(t, a)| (t, AgreementId(a)));
            assert_eq!(units(links), expected, "{name}");
        }
    }
}
