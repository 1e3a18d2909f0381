//! HTTP only: extract, call one service function, map the result.

pub mod admin;
pub mod api;
pub mod auth;
pub mod callback;
pub mod connections;
pub mod health;
pub mod media;
pub mod observe;
pub mod openapi;
pub mod strict_json;

use poem::{EndpointExt, IntoEndpoint, IntoResponse, Route, get};
use poem_openapi::{OpenApiService, Tags};

use crate::state::AppState;

/// OpenAPI tags, one per audience.
#[derive(Tags)]
pub enum Tag {
    /// Probes and metrics for operators.
    Operations,
    /// The mini program's API.
    MiniProgram,
    /// Reviewers, judges, unit organisers and admins.
    Admin,
}

/// The client's address for rates and the vote ledger: `X-Forwarded-For` from trusted
/// proxies only (`WANGJU_TRUSTED_PROXIES`), else the socket's peer.
pub fn client_ip(req: &poem::Request, state: &AppState) -> String {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    crate::domain::vote::client_ip(
        req.header("x-forwarded-for"),
        peer,
        &state.settings.http.trusted_proxies,
    )
}

/// The whole route tree with its state, before the outer middleware.
pub fn build(state: AppState) -> impl IntoEndpoint {
    // poem-openapi implements its trait for tuples of up to 16: one tuple per audience.
    let mini_program = (
        api::auth::AuthApi,
        api::people::MeApi,
        api::campaign::CampaignApi,
        api::uploads::UploadsApi,
        api::works::WorksApi,
        api::votes::VotesApi,
        api::subscriptions::SubscriptionsApi,
    );
    let admin = (
        admin::tokens::TokensApi,
        admin::campaign::CampaignAdminApi,
        admin::review::ReviewApi,
        admin::vote_audit::VoteAuditApi,
        admin::jury::JuryApi,
        admin::awards::AwardsApi,
        admin::stats::StatsApi,
        admin::export::ExportApi,
        admin::notifications::NotificationsApi,
    );
    let api = OpenApiService::new(
        (health::HealthApi, mini_program, admin),
        "wangju 网聚",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Backend of trade-union WeChat campaigns: official account callback, mini-program API, admin API.",
    );
    let docs = api.swagger_ui();
    // Built once: the document does not change while the process runs.
    let raw_spec = api.spec();
    state
        .metrics
        .set_route_labels(openapi::route_templates(&raw_spec));
    let spec = openapi::complete(&raw_spec);
    let spec = poem::endpoint::make_sync(move |_| {
        spec.clone()
            .with_content_type("application/json; charset=utf-8")
    });
    Route::new()
        .at("/metrics", get(health::metrics))
        .at("/media/*key", get(media::get))
        .at(
            "/wechat/callback",
            get(callback::verify).post(callback::official_account),
        )
        .at(
            "/wechat/miniapp/callback",
            get(callback::verify_miniapp).post(callback::mini_program),
        )
        .at("/docs/openapi.json", get(spec))
        .nest("/docs", docs)
        .nest("/", api)
        .data(state)
}
