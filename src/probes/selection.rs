//! Which checks run: `--checks` / `--skip-checks` id globs (wildmatch: `*`, `?`)
//! and `--deep` for the heavy ones.

use wildmatch::WildMatch;

use super::catalogue::{CheckDef, catalogue};
use super::error::ProbeError;

/// The user's choice of checks. An empty `include` means every check.
/// Entries may hold several globs separated by commas (`svc.*,vss.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Globs of check ids to run (`--checks`); empty = all.
    pub include: Vec<String>,
    /// Globs of check ids to leave out (`--skip-checks`).
    pub exclude: Vec<String>,
    /// Run heavy checks too (`--deep`).
    pub deep: bool,
}

fn globs(entries: &[String]) -> Vec<&str> {
    entries
        .iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect()
}

impl Selection {
    /// Every check, heavy ones only with `deep`.
    pub fn all(deep: bool) -> Selection {
        Selection {
            deep,
            ..Selection::default()
        }
    }

    /// The selected checks, in run order.
    ///
    /// # Errors
    ///
    /// [`ProbeError::GlobMatchesNothing`] for an include glob that matches no id,
    /// [`ProbeError::GlobNeedsDeep`] for one that matches only heavy checks without
    /// `deep`, [`ProbeError::NothingSelected`] when nothing is left.
    pub fn resolve(&self) -> Result<Vec<&'static CheckDef>, ProbeError> {
        let include: Vec<(&str, WildMatch)> = globs(&self.include)
            .into_iter()
            .map(|g| (g, WildMatch::new(g)))
            .collect();
        let exclude: Vec<WildMatch> = globs(&self.exclude)
            .into_iter()
            .map(WildMatch::new)
            .collect();
        for (glob, pattern) in &include {
            let matched: Vec<&CheckDef> = catalogue()
                .iter()
                .filter(|c| pattern.matches(c.id))
                .collect();
            if matched.is_empty() {
                return Err(ProbeError::GlobMatchesNothing {
                    glob: (*glob).to_string(),
                });
            }
            if !self.deep && matched.iter().all(|c| c.is_heavy()) {
                return Err(ProbeError::GlobNeedsDeep {
                    glob: (*glob).to_string(),
                    ids: matched.iter().map(|c| c.id).collect::<Vec<_>>().join(", "),
                });
            }
        }
        let selected: Vec<&'static CheckDef> = catalogue()
            .iter()
            .filter(|c| self.deep || !c.is_heavy())
            .filter(|c| include.is_empty() || include.iter().any(|(_, p)| p.matches(c.id)))
            .filter(|c| !exclude.iter().any(|p| p.matches(c.id)))
            .collect();
        if selected.is_empty() {
            return Err(ProbeError::NothingSelected);
        }
        Ok(selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(sel: &Selection) -> Vec<&'static str> {
        sel.resolve().expect("valid").iter().map(|c| c.id).collect()
    }

    #[test]
    fn default_selection_is_every_light_and_moderate_check() {
        let got = ids(&Selection::all(false));
        assert!(got.contains(&"svc.vss_startup"));
        assert!(!got.contains(&"vss.writers"));
        assert_eq!(ids(&Selection::all(true)).len(), catalogue().len());
    }

    #[test]
    fn include_and_exclude_globs_select_by_id() {
        let sel = Selection {
            include: vec!["svc.*,vss.*".into()],
            exclude: vec!["svc.s*".into()],
            deep: false,
        };
        let got = ids(&sel);
        assert!(got.contains(&"svc.vss_startup"));
        assert!(got.contains(&"vss.shadow_storage"));
        assert!(!got.contains(&"svc.sens_startup"));
        assert!(!got.contains(&"svc.swprv_startup"));
        assert!(!got.contains(&"vss.writers"), "heavy without deep");
    }

    #[test]
    fn include_glob_matching_nothing_is_an_error_naming_it() {
        let sel = Selection {
            include: vec!["svc.*".into(), "nosuch.*".into()],
            ..Selection::default()
        };
        let err = sel.resolve().unwrap_err();
        assert!(err.to_string().contains("nosuch.*"), "{err}");
    }

    #[test]
    fn heavy_only_glob_without_deep_asks_for_deep() {
        let sel = Selection {
            include: vec!["vss.writers".into()],
            ..Selection::default()
        };
        assert!(matches!(
            sel.resolve(),
            Err(ProbeError::GlobNeedsDeep { .. })
        ));
    }

    #[test]
    fn excluding_everything_is_an_error() {
        let sel = Selection {
            exclude: vec!["*".into()],
            ..Selection::default()
        };
        assert_eq!(sel.resolve(), Err(ProbeError::NothingSelected));
    }
}
