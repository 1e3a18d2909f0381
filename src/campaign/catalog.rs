//! Every campaign file of a deployment, loaded and checked against each other.
//!
//! One file alone is checked by `raw`; here are the rules between files: unique keys, unique
//! code prefixes, and no chat keyword claimed by two campaigns whose submission phases overlap
//! (the keyword could not tell which one a message is for).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use super::{Campaign, CampaignError, PhaseKey};

/// Where campaign files are read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CampaignSource {
    /// Every `*.toml` in a folder (`wechat-config/campaigns/`).
    Folder(PathBuf),
    /// One file (`WANGJU_CAMPAIGN`, as before several campaigns).
    File(PathBuf),
}

/// One loaded file.
#[derive(Clone, Debug)]
pub struct CampaignFile {
    /// Where it was read.
    pub path: PathBuf,
    /// Its text, kept as the database's snapshot of the definition.
    pub text: String,
    /// The validated campaign.
    pub campaign: Arc<Campaign>,
}

/// The campaign files of a deployment and which one clients get when they name none.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// In file-name order.
    pub files: Vec<CampaignFile>,
    /// The default campaign's key.
    pub default_key: String,
}

impl Catalog {
    /// Reads the source, checks the files against each other and picks the default: the key
    /// given, else the only campaign, else the one whose phases start last.
    pub fn load(source: &CampaignSource, default_key: Option<&str>) -> Result<Self, CampaignError> {
        let paths = match source {
            CampaignSource::File(path) => vec![path.clone()],
            CampaignSource::Folder(folder) => toml_files(folder)?,
        };
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| CampaignError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let campaign = Arc::new(Campaign::parse_file(&path, &text)?);
            files.push(CampaignFile {
                path,
                text,
                campaign,
            });
        }
        Self::new(files, default_key)
    }

    /// Checks already loaded files (tests build them in memory).
    pub fn new(files: Vec<CampaignFile>, default_key: Option<&str>) -> Result<Self, CampaignError> {
        check_clashes(&files)?;
        let default_key = match default_key {
            Some(key) if files.iter().any(|f| f.campaign.key == key) => key.to_owned(),
            Some(key) => return Err(CampaignError::UnknownDefault(key.to_owned())),
            None => files
                .iter()
                .max_by_key(|f| f.campaign.phases.first().map(|p| p.starts))
                .map(|f| f.campaign.key.clone())
                .unwrap_or_default(),
        };
        Ok(Self { files, default_key })
    }
}

fn toml_files(folder: &Path) -> Result<Vec<PathBuf>, CampaignError> {
    let folder_error = |reason: String| CampaignError::Folder {
        path: folder.display().to_string(),
        reason,
    };
    let entries = std::fs::read_dir(folder).map_err(|e| folder_error(e.to_string()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| folder_error(e.to_string()))?.path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == "toml") {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(folder_error("holds no campaign (*.toml) file".to_owned()));
    }
    paths.sort();
    Ok(paths)
}

fn check_clashes(files: &[CampaignFile]) -> Result<(), CampaignError> {
    for (i, a) in files.iter().enumerate() {
        for b in &files[i + 1..] {
            let (ca, cb) = (&a.campaign, &b.campaign);
            let both = || format!("`{}` and `{}`", a.path.display(), b.path.display());
            if ca.key == cb.key {
                return Err(CampaignError::Clash(format!(
                    "{} both have the key `{}`",
                    both(),
                    ca.key
                )));
            }
            if ca.code_prefix == cb.code_prefix {
                return Err(CampaignError::Clash(format!(
                    "{} both number works with code_prefix `{}`",
                    both(),
                    ca.code_prefix
                )));
            }
            if !open_phases_overlap(ca, cb) {
                continue;
            }
            let shared = ca
                .categories
                .iter()
                .filter_map(|c| c.chat_keyword.as_deref())
                .find(|keyword| cb.category_by_chat_keyword(keyword).is_some());
            if let Some(keyword) = shared {
                return Err(CampaignError::Clash(format!(
                    "{} both declare the chat keyword `{keyword}` while both take submissions",
                    both()
                )));
            }
        }
    }
    Ok(())
}

/// Whether the two campaigns' submission (`open`) phases share a day.
fn open_phases_overlap(a: &Campaign, b: &Campaign) -> bool {
    let open = |c: &Campaign| {
        c.phases
            .iter()
            .find(|p| p.key == PhaseKey::Open)
            .map(|p| (p.starts, p.ends))
    };
    match (open(a), open(b)) {
        (Some((a_start, a_end)), Some((b_start, b_end))) => a_start <= b_end && b_start <= a_end,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../wechat-config/campaigns/shwm-2017.toml");

    /// The shipped campaign with another key and prefix, its dates moved by `years`.
    fn next(key: &str, prefix: &str, years: i32) -> CampaignFile {
        let mut text = SHIPPED
            .replace("key = \"shwm-2017\"", &format!("key = \"{key}\""))
            .replace(
                "code_prefix = \"WY\"",
                &format!("code_prefix = \"{prefix}\""),
            );
        if years != 0 {
            for year in (2017..=2018).rev() {
                text = text.replace(&format!("\"{year}-"), &format!("\"{}-", year + years));
            }
        }
        file(&format!("{key}.toml"), &text)
    }

    fn file(name: &str, text: &str) -> CampaignFile {
        let campaign = Campaign::parse(text, "fallback").expect("valid campaign");
        CampaignFile {
            path: PathBuf::from(name),
            text: text.to_owned(),
            campaign: Arc::new(campaign),
        }
    }

    #[test]
    fn the_default_is_the_one_named_else_the_latest() {
        let files = vec![next("shwm-2017", "WY", 0), next("shwm-2018", "WB", 1)];
        let latest = Catalog::new(files.clone(), None).expect("valid");
        assert_eq!(latest.default_key, "shwm-2018");
        let named = Catalog::new(files.clone(), Some("shwm-2017")).expect("valid");
        assert_eq!(named.default_key, "shwm-2017");
        let err = Catalog::new(files, Some("shwm-2019")).expect_err("unknown");
        assert!(err.to_string().contains("shwm-2019"), "{err}");
    }

    #[test]
    fn the_same_key_or_prefix_twice_names_both_files() {
        let err =
            Catalog::new(vec![next("a", "WY", 0), next("a", "WB", 1)], None).expect_err("same key");
        let text = err.to_string();
        assert!(text.contains("a.toml") && text.contains("`a`"), "{text}");
        let err = Catalog::new(vec![next("a", "WY", 0), next("b", "WY", 1)], None)
            .expect_err("same prefix");
        let text = err.to_string();
        assert!(text.contains("a.toml") && text.contains("b.toml"), "{text}");
    }

    #[test]
    fn a_keyword_is_refused_only_when_both_campaigns_take_submissions_at_once() {
        // Same dates: both open at once, and both declare 网言网语.
        let err = Catalog::new(vec![next("a", "WA", 0), next("b", "WB", 0)], None)
            .expect_err("shared keyword");
        let text = err.to_string();
        assert!(
            text.contains("a.toml") && text.contains("b.toml") && text.contains("chat keyword"),
            "{text}"
        );
        // A year apart: the keyword is next year's once this year's submissions are over.
        Catalog::new(vec![next("a", "WA", 0), next("b", "WB", 1)], None).expect("a year apart");
    }

    #[test]
    fn a_file_without_a_key_takes_its_name() {
        let text = SHIPPED.replace("key = \"shwm-2017\"\n", "");
        let campaign = Campaign::parse(&text, "campaign").expect("valid");
        assert_eq!(campaign.key, "campaign");
        let err = Campaign::parse(&text, "My Campaign").expect_err("not a slug");
        assert!(err.to_string().contains("key"), "{err}");
    }
}
