use serde_json::Value;

use crate::on_both_databases;
use crate::{
    db_test,
    helpers::{Backend, spawn_app_with},
};

db_test!(healthz_and_readyz_answer_ok, |app| async move {
    for path in ["/healthz", "/readyz"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers().contains_key("x-request-id"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
});

db_test!(readyz_reports_an_unreachable_database, |app| async move {
    app.db.clone().close().await.unwrap();
    // The app shares the pool with the test: once closed, the app cannot reach the database.
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
});

db_test!(readyz_reports_unwritable_media_storage, |app| async move {
    // The storage directory becomes a plain file: writes into it fail.
    std::fs::remove_dir_all(app.media_dir()).unwrap();
    std::fs::write(app.media_dir(), b"not a directory").unwrap();
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["storage"], "storage write failed");
    assert_eq!(body["status"], "storage write failed");
    std::fs::remove_file(app.media_dir()).unwrap();
    std::fs::create_dir(app.media_dir()).unwrap();
});

db_test!(
    metrics_count_requests_per_route_and_status,
    |app| async move {
        app.client.get(app.url("/healthz")).send().await.unwrap();
        app.client
            .get(app.url("/no/such/route"))
            .send()
            .await
            .unwrap();
        let res = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = res.text().await.unwrap();
        assert!(
            text.contains(
                r#"wangju_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
        // Routes are labelled by their documented template, not poem's `:param0`.
        app.client
            .get(app.url("/api/v1/works/424242"))
            .send()
            .await
            .unwrap();
        let text = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(r#"route="/api/v1/works/{id}""#), "{text}");
        assert!(!text.contains(":param0"), "{text}");
        assert!(text.contains("wangju_build_info{version="), "{text}");
        assert!(
            text.contains("wangju_process_resident_memory_bytes"),
            "{text}"
        );
        for gauge in [
            r#"wangju_queue_rows{queue="inbox",state="pending"} 0"#,
            r#"wangju_queue_rows{queue="outbox",state="open"} 0"#,
            r#"wangju_queue_rows{queue="jobs",state="queued"}"#,
            r#"wangju_votes{status="counted"} 0"#,
            r#"wangju_votes{status="flagged"} 0"#,
        ] {
            assert!(text.contains(gauge), "{gauge}: {text}");
        }
        assert!(text.contains("wangju_http_request_duration_seconds_bucket"));
    }
);

db_test!(
    openapi_and_swagger_ui_are_served_at_docs,
    |app| async move {
        let ui = app.client.get(app.url("/docs")).send().await.unwrap();
        assert_eq!(ui.status(), 200);
        assert!(ui.text().await.unwrap().contains("swagger"));
        let spec: Value = app
            .client
            .get(app.url("/docs/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(spec["paths"]["/healthz"].is_object());
        assert!(spec["paths"]["/api/v1/admin/tokens"].is_object());
        // Every operation has an id and documents the contract's errors with the error body.
        let mut ids = std::collections::HashSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(
                    ids.insert(id.to_owned()),
                    "{method} {path}: id {id:?} unique"
                );
                for status in ["400", "401", "403", "404", "422", "429", "503"] {
                    if path == "/readyz" && status == "503" {
                        continue; // its own body: what is not ready
                    }
                    assert_eq!(
                        op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
                for param in op["parameters"].as_array().into_iter().flatten() {
                    assert!(
                        param["description"].as_str().is_some_and(|d| !d.is_empty()),
                        "{method} {path}: {param}"
                    );
                }
            }
        }
        let schemas = &spec["components"]["schemas"];
        assert_eq!(
            schemas["NewToken"]["properties"]["role"]["enum"],
            serde_json::json!(["admin", "reviewer", "judge", "unit"])
        );
        assert_eq!(
            schemas["WorkView"]["properties"]["status"]["enum"][0],
            "checking"
        );
        let sort = spec["paths"]["/api/v1/works"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "sort")
            .unwrap();
        assert_eq!(sort["schema"]["enum"], serde_json::json!(["hot", "new"]));
    }
);

db_test!(
    an_unknown_route_gets_the_contract_error_body,
    |app| async move {
        let res = app
            .client
            .get(app.url("/api/v1/nothing-here"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
);

db_test!(an_incoming_request_id_is_echoed_back, |app| async move {
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "edge-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "edge-1234");
});

async fn body_over_limit(backend: Backend) {
    // A small limit keeps the whole body inside socket buffers, so the early 413 is read cleanly.
    let Some(app) = spawn_app_with(backend, &[("max_body_bytes", 1000.into())]).await else {
        return;
    };
    let res = app
        .client
        .post(app.url("/api/v1/admin/tokens"))
        .header("content-type", "application/json")
        .body(vec![b'a'; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");
}

on_both_databases!(a_body_over_the_limit_is_refused_with_413, body_over_limit);
