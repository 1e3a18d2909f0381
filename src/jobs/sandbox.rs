//! Delivers the simulator's own pushes (media-check verdicts) to the mini program's push
//! handler, signed and sealed with its keys as WeChat would send them: business code cannot
//! tell the sandbox from WeChat.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use secrecy::ExposeSecret;
use tokio::sync::mpsc;

use crate::{
    service::callback::{self, PushApp, PushDeps},
    settings::PushKeys,
    wechat::push::sign_push,
};

/// How long the simulator "takes" for a verdict; WeChat takes seconds to minutes.
const VERDICT_DELAY: Duration = Duration::from_millis(500);

/// Room for verdicts in flight before the simulator drops one (as WeChat may).
pub const PUSHES_WAITING: usize = 1024;

/// Takes pushes from `pushes` until the simulator is gone; each is delivered after a delay.
pub async fn run_sandbox_pushes(
    mut pushes: mpsc::Receiver<String>,
    deps: PushDeps,
    keys: PushKeys,
    appid: String,
) {
    // Built once; each delivery shares them.
    let crypt = Arc::new(keys.crypt(&appid));
    let token = Arc::new(keys.token);
    let mode = keys.message_mode;
    while let Some(xml) = pushes.recv().await {
        let (deps, token, crypt) = (deps.clone(), token.clone(), crypt.clone());
        tokio::spawn(async move {
            tokio::time::sleep(VERDICT_DELAY).await;
            let now = Utc::now().timestamp();
            let Some(signed) = sign_push(
                token.expose_secret(),
                crypt.as_ref().as_ref(),
                mode,
                &xml,
                now,
            ) else {
                tracing::warn!("sandbox: the mini program's mode needs an EncodingAESKey");
                return;
            };
            let answer =
                callback::receive(&deps, PushApp::MiniProgram, &signed.query, &signed.body).await;
            if let Err(err) = answer {
                tracing::warn!(error = %err, "sandbox: the mini program callback refused a push");
            }
        });
    }
}
