//! What a worker's chat message asks for: pure parsing, no I/O.

use crate::campaign::{Campaign, Category, replies::Replies};

/// A text message, understood.
#[derive(Debug)]
pub enum TextCommand<'a> {
    /// Submit to a category whose works are text: `网言网语 <text>`.
    SubmitText {
        /// The campaign whose category declares the keyword.
        campaign: &'a Campaign,
        /// The category.
        category: &'a Category,
        /// The text after the keyword.
        text: &'a str,
    },
    /// Finish the photo draft into a work of an image category: `画面故事 <caption>`.
    FinishPhotos {
        /// The campaign whose category declares the keyword.
        campaign: &'a Campaign,
        /// The category.
        category: &'a Category,
        /// The caption after the keyword.
        caption: &'a str,
    },
    /// `我的作品`.
    MyWorks,
    /// A configured keyword reply.
    Keyword(&'a str),
    /// Anything else.
    Help,
}

/// Reads a text message as a command; a submission keyword goes to the first of `campaigns`
/// (the caller's order of preference) that declares it.
pub fn parse_text<'a>(
    text: &'a str,
    campaigns: impl IntoIterator<Item = &'a Campaign>,
    replies: &'a Replies,
) -> TextCommand<'a> {
    let trimmed = text.trim();
    if trimmed == replies.my_works_keyword {
        return TextCommand::MyWorks;
    }
    let found = campaigns.into_iter().find_map(|campaign| {
        submission_keyword(trimmed, campaign).map(|(category, rest)| (campaign, category, rest))
    });
    if let Some((campaign, category, rest)) = found {
        return if category.rules.images.min > 0 {
            TextCommand::FinishPhotos {
                campaign,
                category,
                caption: rest,
            }
        } else {
            TextCommand::SubmitText {
                campaign,
                category,
                text: rest,
            }
        };
    }
    match replies.keyword_reply(trimmed) {
        Some(reply) => TextCommand::Keyword(reply),
        None => TextCommand::Help,
    }
}

/// `<keyword><space or colon><rest>` or the bare keyword, for a category's chat keyword.
fn submission_keyword<'a>(
    text: &'a str,
    campaign: &'a Campaign,
) -> Option<(&'a Category, &'a str)> {
    campaign.categories.iter().find_map(|category| {
        let keyword = category.chat_keyword.as_deref()?;
        let rest = text.strip_prefix(keyword)?;
        let separated = rest.is_empty()
            || rest.starts_with(char::is_whitespace)
            || rest.starts_with([':', '：', ',', '，']);
        separated.then(|| {
            let rest = rest.trim_start_matches([':', '：', ',', '，']);
            (category, rest.trim())
        })
    })
}

/// The organising unit code in a follow's `qrscene_<code>` or a scan's bare scene.
pub fn unit_scene(scene: &str) -> Option<&str> {
    let code = scene.strip_prefix("qrscene_").unwrap_or(scene).trim();
    (!code.is_empty()).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../wechat-config/campaigns/shwm-2017.toml");

    fn fixtures() -> (Campaign, Replies) {
        (
            Campaign::parse(SHIPPED, "campaign").expect("campaign"),
            Replies::parse(include_str!("../../wechat-config/replies.toml")).expect("replies"),
        )
    }

    #[test]
    fn a_slogan_command_carries_its_text() {
        let (campaign, replies) = fixtures();
        for message in [
            "网言网语 文明上网从我做起",
            "网言网语：文明上网从我做起",
            "网言网语\n文明上网从我做起",
            "网言网语　文明上网从我做起",
        ] {
            match parse_text(message, [&campaign], &replies) {
                TextCommand::SubmitText { category, text, .. } => {
                    assert_eq!(category.key, "slogan");
                    assert_eq!(text, "文明上网从我做起", "{message:?}");
                }
                other => panic!("{message:?} → {other:?}"),
            }
        }
    }

    #[test]
    fn the_bare_keyword_submits_an_empty_text() {
        let (campaign, replies) = fixtures();
        assert!(matches!(
            parse_text("网言网语", [&campaign], &replies),
            TextCommand::SubmitText { text: "", .. }
        ));
    }

    #[test]
    fn a_word_that_only_starts_with_the_keyword_is_not_a_command() {
        let (campaign, replies) = fixtures();
        assert!(matches!(
            parse_text("网言网语真好", [&campaign], &replies),
            TextCommand::Help
        ));
    }

    #[test]
    fn the_photo_story_keyword_finishes_the_draft() {
        let (campaign, replies) = fixtures();
        match parse_text("画面故事 凌晨四点的地铁检修", [&campaign], &replies) {
            TextCommand::FinishPhotos {
                category, caption, ..
            } => {
                assert_eq!(category.key, "photo_story");
                assert_eq!(caption, "凌晨四点的地铁检修");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn my_works_keywords_and_help() {
        let (campaign, replies) = fixtures();
        assert!(matches!(
            parse_text(" 我的作品 ", [&campaign], &replies),
            TextCommand::MyWorks
        ));
        assert!(matches!(
            parse_text("投票", [&campaign], &replies),
            TextCommand::Keyword(_)
        ));
        assert!(matches!(
            parse_text("你好", [&campaign], &replies),
            TextCommand::Help
        ));
    }

    #[test]
    fn unit_scenes_are_read_from_follow_and_scan_keys() {
        assert_eq!(unit_scene("qrscene_huangpu"), Some("huangpu"));
        assert_eq!(unit_scene("huangpu"), Some("huangpu"));
        assert_eq!(unit_scene("qrscene_"), None);
        assert_eq!(unit_scene(""), None);
    }

    #[test]
    fn a_keyword_goes_to_the_first_campaign_that_declares_it() {
        let (this_year, replies) = fixtures();
        let next_year = Campaign::parse(
            &SHIPPED
                .replace("key = \"shwm-2017\"", "key = \"shwm-2018\"")
                .replace("code_prefix = \"WY\"", "code_prefix = \"WB\""),
            "campaign",
        )
        .expect("campaign");
        for (order, expected) in [
            ([&next_year, &this_year], "shwm-2018"),
            ([&this_year, &next_year], "shwm-2017"),
        ] {
            match parse_text("网言网语 文明上网", order, &replies) {
                TextCommand::SubmitText { campaign, .. } => assert_eq!(campaign.key, expected),
                other => panic!("{other:?}"),
            }
        }
    }
}
