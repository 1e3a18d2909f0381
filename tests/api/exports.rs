//! CSV exports: BOM, header, Chinese text, defused formulas, pages.

use wangju::domain::role::Role;

use crate::{
    db_test,
    helpers::TestApp,
    votes::{approved_work, vote, voter},
};

/// Fetches an export as `token`; status, content type and body.
async fn export(app: &TestApp, token: &str, file: &str) -> (u16, String, Vec<u8>) {
    let res = app
        .client
        .get(app.url(&format!("/api/v1/admin/export/{file}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, res.bytes().await.unwrap().to_vec())
}

/// The records of a CSV body after its BOM.
fn records(body: &[u8]) -> Vec<Vec<String>> {
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&body[3..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

db_test!(
    works_votes_and_awards_export_as_utf8_csv_with_bom_across_pages,
    |app| async move {
        app.set_phase(Some("showcase")).await;
        let (_, author) = voter(&app, "author").await;
        let mut works = Vec::new();
        // 501 works: the export crosses its 500-row page boundary.
        for _ in 0..501 {
            works.push(approved_work(&app, author, "slogan").await);
        }
        {
            use sea_orm::{ActiveModelTrait, EntityTrait, Set};
            let row = entity::work::Entity::find_by_id(works[0])
                .one(&app.db)
                .await
                .unwrap()
                .unwrap();
            let mut changes: entity::work::ActiveModel = row.into();
            changes.title = Set("=HYPERLINK(\"http://x\")".to_owned());
            changes.body = Set("网聚职工正能量，争做中国好网民".to_owned());
            changes.update(&app.db).await.unwrap();
        }
        let (fan, fan_id) = voter(&app, "fan").await;
        assert_eq!(vote(&app, &fan, works[0]).await.0, 200);
        let admin = app.admin_token.clone();
        let computed = app
            .client
            .post(app.url("/api/v1/admin/awards/compute"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(computed.status(), 200);

        let (status, content_type, body) = export(&app, &admin, "works.csv").await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        let rows = records(&body);
        assert_eq!(rows.len(), 1 + 501);
        assert_eq!(rows[0][..4], ["id", "code", "category", "title"]);
        assert_eq!(
            rows[1][3], "'=HYPERLINK(\"http://x\")",
            "formulas are defused"
        );
        assert_eq!(rows[1][4], "网聚职工正能量，争做中国好网民");
        assert_eq!(rows[1][9], "1");
        let ids: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
        let expected: Vec<String> = works.iter().map(i64::to_string).collect();
        assert_eq!(ids, expected, "every work once, in order");

        let (_, _, body) = export(&app, &admin, "votes.csv").await;
        let rows = records(&body);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[1][1].clone(), rows[1][2].clone(), rows[1][8].clone()),
            (
                works[0].to_string(),
                fan_id.to_string(),
                "counted".to_owned()
            )
        );

        let (_, _, body) = export(&app, &admin, "awards.csv").await;
        let rows = records(&body);
        assert_eq!(rows[0][0], "category");
        let first = rows
            .iter()
            .find(|r| r[0] == "slogan" && r[1] == "1")
            .unwrap();
        assert_eq!(
            (first[3].as_str(), first[4].clone()),
            ("一等奖", works[0].to_string())
        );

        let reviewer = app.token(Role::Reviewer).await;
        assert_eq!(export(&app, &reviewer, "votes.csv").await.0, 403);
        assert_eq!(export(&app, &admin, "secrets.csv").await.0, 404);
    }
);
