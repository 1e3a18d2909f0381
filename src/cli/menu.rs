//! `wangju menu publish`: pushes `wechat-config/menu.json` to the official account.

use std::path::Path;

use serde_json::Value;

use crate::{
    cli::CliError,
    db,
    metrics::Metrics,
    settings::{Settings, WechatMode},
    startup::build_wechat,
};

/// Checks the menu's shape before WeChat sees it: 1-3 buttons, each with 1-5 sub-buttons.
pub fn check_menu(menu: &Value) -> Result<(), String> {
    let buttons = menu
        .get("button")
        .and_then(Value::as_array)
        .ok_or("the menu needs a `button` array")?;
    if buttons.is_empty() || buttons.len() > 3 {
        return Err(format!(
            "a menu has 1 to 3 buttons, this one {}",
            buttons.len()
        ));
    }
    for button in buttons {
        let name = button
            .get("name")
            .and_then(Value::as_str)
            .ok_or("every button needs a name")?;
        match button.get("sub_button").and_then(Value::as_array) {
            Some(subs) if subs.is_empty() || subs.len() > 5 => {
                return Err(format!(
                    "`{name}` has {} sub-buttons; 1 to 5 are allowed",
                    subs.len()
                ));
            }
            Some(_) => {}
            None if button.get("type").is_none() => {
                return Err(format!("`{name}` needs a type or sub-buttons"));
            }
            None => {}
        }
    }
    Ok(())
}

/// Reads, checks and publishes the menu; in sandbox mode the simulator records it.
pub async fn publish(settings: &Settings, path: &Path) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    let menu: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    check_menu(&menu).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    let conn = db::connect(&settings.database).await?;
    db::migrate(&conn).await?;
    let metrics = Metrics::new().map_err(|e| CliError::Input(e.to_string()))?;
    let wechat = build_wechat(&settings.wechat, &conn, &metrics)
        .map_err(|e| CliError::Input(e.to_string()))?;
    wechat
        .menu_create(&menu)
        .await
        .map_err(|e| CliError::App(e.into()))?;
    let target = match settings.wechat.mode {
        WechatMode::Live => "WeChat",
        WechatMode::Sandbox => "the sandbox simulator",
    };
    println!("menu published to {target}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_menu;
    use serde_json::json;

    #[test]
    fn the_shipped_menu_is_well_formed() {
        let menu: serde_json::Value =
            serde_json::from_str(include_str!("../../wechat-config/menu.json")).expect("json");
        assert_eq!(check_menu(&menu), Ok(()));
    }

    #[test]
    fn too_many_buttons_are_refused() {
        let button = json!({"type": "click", "name": "x", "key": "X"});
        let menu = json!({"button": [button, button, button, button]});
        assert!(check_menu(&menu).is_err());
        assert!(check_menu(&json!({"button": [{"name": "empty", "sub_button": []}]})).is_err());
    }
}
