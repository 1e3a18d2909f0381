//! Every text field is checked before the database sees it: control characters, piles of
//! combining marks and more code points than the column holds are refused, naming the field.

use serde_json::{Value, json};

use crate::{db_test, helpers::TestApp};

/// `e` with `marks` combining accents: one character for a reader, `1 + marks` code points.
fn piled(marks: usize) -> String {
    format!("e{}", "\u{301}".repeat(marks))
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn works(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::work::Entity::find().count(&app.db).await.unwrap()
}

db_test!(
    work_titles_and_bodies_the_column_cannot_hold_are_refused_by_field,
    |app| async move {
        app.set_phase(Some("open")).await;
        let (token, _) = app.login("bounds-author").await;
        let body = "网络文明从我做起，读书让我们更好地理解这个时代。";
        let cases = [
            (
                json!({"category": "book_review", "title": piled(80_000), "body": body}),
                "title",
            ),
            (
                json!({"category": "book_review", "title": "e\u{301}".repeat(150), "body": body}),
                "title",
            ),
            (
                json!({"category": "book_review", "title": "读书", "body": format!("{body}\u{0}")}),
                "body",
            ),
            (
                json!({"category": "book_review", "title": "读\u{7}书", "body": body}),
                "title",
            ),
            (
                json!({"category": "book_review", "title": "读书", "body": format!("{body}{}", piled(100))}),
                "body",
            ),
        ];
        for (request, field) in cases {
            let (status, answer) = send(
                &app,
                reqwest::Method::POST,
                "/api/v1/works",
                &token,
                request,
            )
            .await;
            assert_eq!(status, 422, "{answer}");
            assert!(
                answer["error"]["fields"][field].is_string(),
                "{field}: {answer}"
            );
        }
        assert_eq!(works(&app).await, 0);
        // Newlines belong in a body.
        let (status, answer) = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/works",
            &token,
            json!({"category": "book_review", "title": "读书", "body": format!("{body}\n\t{body}")}),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
    }
);

db_test!(
    profile_names_with_control_characters_or_piled_marks_are_refused,
    |app| async move {
        let (token, _) = app.login("bounds-profile").await;
        for (request, field) in [
            (json!({"nickname": "小王\u{0}"}), "nickname"),
            (json!({"nickname": piled(100)}), "nickname"),
            (json!({"real_name": "e\u{301}".repeat(40)}), "real_name"),
            (json!({"real_name": "王\n五"}), "real_name"),
        ] {
            let (status, answer) =
                send(&app, reqwest::Method::PATCH, "/api/v1/me", &token, request).await;
            assert_eq!(status, 422, "{answer}");
            assert_eq!(answer["error"]["code"], "invalid_input");
            assert!(
                answer["error"]["fields"][field].is_string(),
                "{field}: {answer}"
            );
        }
        let (status, me) = send(
            &app,
            reqwest::Method::PATCH,
            "/api/v1/me",
            &token,
            json!({"nickname": "小王"}),
        )
        .await;
        assert_eq!((status, me["nickname"].as_str()), (200, Some("小王")));
    }
);

db_test!(
    staff_reasons_and_token_labels_are_bounded_and_units_must_exist,
    |app| async move {
        let (_, author) = app.login("bounds-reviewed").await;
        let work =
            crate::votes::work_with_status(&app, author, "book_review", "pending_review").await;
        let reviewer = app.reviewer().await;
        // 190 characters for a reader, 570 code points for the column.
        let reason = "e\u{301}\u{302}".repeat(190);
        let (status, answer) = send(
            &app,
            reqwest::Method::POST,
            &format!("/api/v1/admin/works/{work}/review"),
            &reviewer,
            json!({"decision": "reject", "reason": reason}),
        )
        .await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["error"]["fields"]["reason"].is_string(), "{answer}");
        let admin = app.admin_token.clone();
        for (request, field, expected) in [
            (
                json!({"role": "judge", "label": "x".repeat(150)}),
                "label",
                422,
            ),
            (json!({"role": "judge", "label": "a\u{0}b"}), "label", 422),
            (json!({"role": "unit", "unit_id": 999_999}), "unit_id", 400),
        ] {
            let (status, answer) = send(
                &app,
                reqwest::Method::POST,
                "/api/v1/admin/tokens",
                &admin,
                request,
            )
            .await;
            assert_eq!(status, expected, "{answer}");
            assert!(
                answer["error"]["fields"][field].is_string(),
                "{field}: {answer}"
            );
        }
    }
);

db_test!(
    a_login_code_too_long_for_wechat_is_refused_as_such,
    |app| async move {
        let res = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"code": "c".repeat(129)}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains("格式"),
            "{body}"
        );
    }
);

db_test!(
    a_number_or_boolean_where_a_string_belongs_is_400_naming_the_field,
    |app| async move {
        for (path, body, field) in [
            ("/api/v1/auth/login", json!({"code": 5}), "code"),
            ("/api/v1/auth/login", json!({"code": true}), "code"),
        ] {
            let res = app
                .client
                .post(app.url(path))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{path} {body}");
            let answer: Value = res.json().await.unwrap();
            assert_eq!(answer["error"]["fields"][field], "应为字符串", "{answer}");
        }
        assert_eq!(
            crate::helpers::count_people(&app).await,
            0,
            "nobody logged in"
        );
        let (token, _) = app.login("strict-author").await;
        let (status, answer) = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/works",
            &token,
            json!({"category": "book_review", "title": 42, "body": "x", "upload_ids": ["1"]}),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["fields"]["title"], "应为字符串", "{answer}");
        let (status, answer) = send(
            &app,
            reqwest::Method::PATCH,
            "/api/v1/me",
            &token,
            json!({"unit_id": "3"}),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["fields"]["unit_id"], "应为整数", "{answer}");
    }
);

db_test!(
    control_characters_in_query_parameters_are_400_not_a_database_error,
    |app| async move {
        let reviewer = app.reviewer().await;
        for path in [
            "/api/v1/works?category=%00",
            "/api/v1/works?cursor=%00abc",
            "/api/v1/rankings?category=a%00b",
            "/api/v1/admin/works?category=%00",
            "/api/v1/admin/works?status=%01",
            "/api/v1/admin/votes?status=%00",
        ] {
            let res = app
                .client
                .get(app.url(path))
                .bearer_auth(&reviewer)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{path}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "bad_request", "{path}: {body}");
        }
    }
);
