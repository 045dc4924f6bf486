//! Rotation guidance: where to rotate a key and the provider's own steps.
//!
//! Rules carry a URL template and steps (`rules/*.toml`, `[rule.rotation]`).
//! `{project_id}` is replaced by the project id when one is known (found next
//! to the key, in the project's dotenv files, or set in the config), and
//! `{project}` in steps becomes `` `ID` `` or nothing. A config's
//! `[providers.NAME] dashboard_url` overrides the rule's URL.

use crate::config::ProviderSettings;
use crate::rules::Rule;

/// A resolved rotation URL and numbered steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Where to rotate.
    pub url: String,
    /// Numbered steps, one per line.
    pub steps: String,
}

/// Resolves a rule's rotation guidance for a (possibly unknown) project.
pub fn rotation(
    rule: &Rule,
    project_id: Option<&str>,
    provider: Option<&ProviderSettings>,
) -> Rotation {
    let spec = &rule.spec.rotation;
    let template = provider
        .and_then(|p| p.dashboard_url.as_deref())
        .unwrap_or(&spec.url);
    let url = match project_id {
        Some(id) => template.replace("{project_id}", id),
        None if template.contains("{project_id}") => match (
            &spec.url_without_project,
            provider.and_then(|p| p.dashboard_url.as_ref()),
        ) {
            (Some(fallback), None) => fallback.clone(),
            _ => template.replace("{project_id}", "PROJECT_ID"),
        },
        None => template.to_string(),
    };
    let project = project_id.map(|id| format!(" `{id}`")).unwrap_or_default();
    let steps = spec
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s
                .replace("{project}", &project)
                .replace("{project_id}", project_id.unwrap_or("PROJECT_ID"));
            format!("{}. {s}", i + 1)
        })
        .collect::<Vec<_>>()
        .join("\n");
    Rotation { url, steps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    #[test]
    fn project_ids_fill_templates() {
        let set = RuleSet::builtin().unwrap();
        let ub = set.get("urbackend-secret-key").unwrap();
        let r = rotation(ub, Some("proj42"), None);
        assert_eq!(r.url, "https://urbackend.bitbros.in/project/proj42");
        assert!(r.steps.contains("POST /api/projects/proj42/api-key"));
        assert!(r.steps.starts_with("1. "));
        let r = rotation(ub, None, None);
        assert_eq!(r.url, "https://urbackend.bitbros.in");

        let mb = set.get("miniback-api-key").unwrap();
        let r = rotation(mb, Some("acme"), None);
        assert_eq!(r.url, "https://www.miniback.io/docs");
        assert!(r.steps.contains("select the project `acme`"));
        let cfg = ProviderSettings {
            dashboard_url: Some("https://app.miniback.test/p/{project_id}/api".into()),
            project_id: None,
        };
        assert_eq!(
            rotation(mb, Some("acme"), Some(&cfg)).url,
            "https://app.miniback.test/p/acme/api"
        );
        assert_eq!(
            rotation(mb, None, Some(&cfg)).url,
            "https://app.miniback.test/p/PROJECT_ID/api"
        );
    }
}
