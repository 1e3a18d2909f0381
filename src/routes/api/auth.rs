//! `POST /api/v1/auth/login`.

use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use crate::{routes::Tag, routes::strict_json::StrictJson, service::auth, state::AppState};

/// Login.
pub struct AuthApi;

/// The code from `wx.login`.
#[derive(Object)]
struct LoginRequest {
    /// Single-use, valid for 5 minutes.
    code: String,
}

/// Who logged in (public fields only).
#[derive(Object)]
pub struct UserSummary {
    /// Person id.
    pub id: i64,
    /// Nickname (empty until set).
    pub nickname: String,
    /// Organising unit.
    pub unit_id: Option<i64>,
}

/// Our own session token; WeChat's session_key never leaves the server.
#[derive(Object)]
struct LoginResponse {
    /// Bearer token for `Authorization`.
    token: String,
    /// Seconds until the token expires.
    expires_in: u64,
    /// The person.
    user: UserSummary,
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::MiniProgram")]
impl AuthApi {
    /// Log in with a `wx.login` code.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(
        &self,
        state: Data<&AppState>,
        req: &poem::Request,
        body: StrictJson<LoginRequest>,
    ) -> poem::Result<Json<LoginResponse>> {
        let ip = crate::routes::client_ip(req, &state);
        let logged_in = auth::login(
            &state.db,
            &state.wechat,
            (&state.login_rate, &ip),
            &body.code,
        )
        .await?;
        Ok(Json(LoginResponse {
            token: logged_in.token.reveal().to_owned(),
            expires_in: logged_in.expires_in,
            user: UserSummary {
                id: logged_in.person.id,
                nickname: logged_in.person.nickname,
                unit_id: logged_in.person.unit_id,
            },
        }))
    }
}
