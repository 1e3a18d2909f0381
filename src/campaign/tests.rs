use chrono::{TimeZone, Utc};

use super::*;

const SHIPPED: &str = include_str!("../../wechat-config/campaigns/shwm-2017.toml");

#[test]
fn the_shipped_campaign_is_valid_and_holds_every_category_of_the_seed() {
    let campaign = Campaign::parse(SHIPPED, "campaign").expect("valid");
    assert_eq!(campaign.categories.len(), 14);
    let slogan = campaign.category("slogan").expect("slogan");
    assert_eq!(slogan.rules.body_chars, Range { min: 1, max: 30 });
    let essay = campaign.category("essay").expect("essay");
    assert_eq!(essay.rules.body_chars, Range { min: 300, max: 800 });
    let video = campaign.category("micro_video").expect("video");
    assert_eq!(
        video.rules.video_seconds,
        Some(Range { min: 180, max: 300 })
    );
    assert!(
        campaign
            .category("photo_story")
            .expect("photo")
            .rules
            .true_story
    );
    assert_eq!(
        campaign.category("inventor").expect("inventor").awards,
        Awards::TopN(10)
    );
    assert_eq!(
        campaign
            .category_by_chat_keyword("网言网语")
            .map(|c| c.key.as_str()),
        Some("slogan")
    );
}

#[test]
fn every_shipped_video_runs_three_to_five_minutes() {
    // The seed: "视频时间3—5分钟", for every work with a video.
    let campaign = Campaign::parse(SHIPPED, "campaign").expect("valid");
    assert_eq!(campaign.key, "shwm-2017");
    let with_video: Vec<&Category> = campaign
        .categories
        .iter()
        .filter(|c| c.rules.videos.max > 0)
        .collect();
    assert!(with_video.len() >= 4, "{}", with_video.len());
    for category in with_video {
        assert_eq!(
            category.rules.video_seconds,
            Some(Range { min: 180, max: 300 }),
            "{}",
            category.key
        );
    }
}

#[test]
fn phases_follow_the_local_calendar() {
    let campaign = Campaign::parse(SHIPPED, "campaign").expect("valid");
    // 2017-05-01 00:30 in Shanghai is still 2017-04-30 in UTC.
    let at = Utc
        .with_ymd_and_hms(2017, 4, 30, 16, 30, 0)
        .single()
        .expect("time");
    assert_eq!(campaign.phase_by_date(at), PhaseKey::Open);
    let before = Utc
        .with_ymd_and_hms(2017, 4, 30, 15, 59, 0)
        .single()
        .expect("time");
    assert_eq!(campaign.phase_by_date(before), PhaseKey::Launch);
    let long_before = Utc
        .with_ymd_and_hms(2016, 1, 1, 0, 0, 0)
        .single()
        .expect("time");
    assert_eq!(campaign.phase_by_date(long_before), PhaseKey::Launch);
    let during_votes = Utc
        .with_ymd_and_hms(2017, 9, 15, 0, 0, 0)
        .single()
        .expect("time");
    assert_eq!(campaign.phase_by_date(during_votes), PhaseKey::Showcase);
}

fn broken(from: &str, to: &str) -> String {
    assert!(SHIPPED.contains(from), "fixture text `{from}` missing");
    let text = SHIPPED.replacen(from, to, 1);
    Campaign::parse(&text, "campaign")
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn an_unknown_kind_is_refused_naming_its_line() {
    let err = broken("kind = \"audio\"", "kind = \"hologram\"");
    assert!(err.contains("unknown kind `hologram`"), "{err}");
    assert!(err.contains("line "), "{err}");
}

#[test]
fn a_range_with_min_over_max_is_refused() {
    let err = broken("body_chars = [300, 800]", "body_chars = [800, 300]");
    assert!(err.contains("min 800 is greater than max 300"), "{err}");
}

#[test]
fn overlapping_phases_are_refused() {
    let err = broken("starts = \"2017-09-01\"", "starts = \"2017-08-15\"");
    assert!(err.contains("overlaps"), "{err}");
}

#[test]
fn weights_must_add_up_to_one() {
    let err = broken("vote_weight = 0.4", "vote_weight = 0.5");
    assert!(err.contains("add up to 1"), "{err}");
}

#[test]
fn the_line_number_points_at_the_broken_table() {
    let text = SHIPPED.replacen("kind = \"audio\"", "kind = \"hologram\"", 1);
    let line = text
        .lines()
        .position(|l| l.contains("hologram"))
        .expect("line")
        + 1;
    match Campaign::parse(&text, "campaign") {
        Err(CampaignError::Invalid { line: reported, .. }) => {
            // The span starts at the table header, a few lines above the bad key.
            assert!(
                reported <= line && line - reported < 12,
                "{reported} vs {line}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn every_problem_of_a_file_is_named_at_once() {
    let text = SHIPPED
        .replacen("kind = \"audio\"", "kind = \"hologram\"", 1)
        .replacen("vote_weight = 0.4", "vote_weight = 0.5", 1)
        .replacen("starts = \"2017-09-01\"", "starts = \"2017-08-15\"", 1)
        .replacen("code = \"xuhui\"", "code = \"huangpu\"", 1);
    let err = Campaign::parse(&text, "campaign")
        .expect_err("four problems")
        .to_string();
    for expected in [
        "4 problems",
        "hologram",
        "add up to 1",
        "overlaps",
        "appears twice",
    ] {
        assert!(err.contains(expected), "`{expected}` missing from: {err}");
    }
}
