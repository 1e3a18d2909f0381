//! `GET|POST /wechat/callback` (official account) and `/wechat/miniapp/callback` (mini program).

use poem::{
    IntoResponse, Response, handler,
    web::{Data, Query},
};

use crate::{
    error::AppError,
    service::callback::{self, PushApp, PushQuery},
    state::AppState,
};

fn xml_or_text(body: String) -> Response {
    let content_type = if body.starts_with('<') {
        "application/xml; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    body.with_content_type(content_type).into_response()
}

async fn receive(
    state: &AppState,
    app: PushApp,
    query: &PushQuery,
    body: Vec<u8>,
) -> poem::Result<Response> {
    let body = String::from_utf8(body)
        .map_err(|_| AppError::BadRequest("push body is not UTF-8".to_owned()))?;
    let answer = callback::receive(&state.push(), app, query, &body).await?;
    Ok(xml_or_text(answer))
}

fn echo(state: &AppState, app: PushApp, query: &PushQuery) -> poem::Result<Response> {
    let echo = callback::verify_url(&state.push_endpoint, app, query)?;
    Ok(echo
        .with_content_type("text/plain; charset=utf-8")
        .into_response())
}

/// URL verification of the official account's endpoint: echo `echostr` when signed right.
#[handler]
pub async fn verify(
    state: Data<&AppState>,
    Query(query): Query<PushQuery>,
) -> poem::Result<Response> {
    echo(&state, PushApp::OfficialAccount, &query)
}

/// URL verification of the mini program's endpoint, with its own token.
#[handler]
pub async fn verify_miniapp(
    state: Data<&AppState>,
    Query(query): Query<PushQuery>,
) -> poem::Result<Response> {
    echo(&state, PushApp::MiniProgram, &query)
}

/// An official-account push.
#[handler]
pub async fn official_account(
    state: Data<&AppState>,
    Query(query): Query<PushQuery>,
    body: Vec<u8>,
) -> poem::Result<Response> {
    receive(&state, PushApp::OfficialAccount, &query, body).await
}

/// A mini-program push.
#[handler]
pub async fn mini_program(
    state: Data<&AppState>,
    Query(query): Query<PushQuery>,
    body: Vec<u8>,
) -> poem::Result<Response> {
    receive(&state, PushApp::MiniProgram, &query, body).await
}
