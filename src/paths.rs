//! Where opsdeck keeps things: the XDG base directories (config, data, state).

use std::path::PathBuf;

use etcetera::BaseStrategy;

const APP: &str = "opsdeck";

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find your home directory to place opsdeck's files; set HOME, or pass --store and --config"
)]
pub struct NoHome;

fn base() -> Result<etcetera::base_strategy::Xdg, NoHome> {
    etcetera::base_strategy::Xdg::new().map_err(|_| NoHome)
}

/// `$XDG_CONFIG_HOME/opsdeck/config.toml`.
pub fn config_file() -> Result<PathBuf, NoHome> {
    Ok(base()?.config_dir().join(APP).join("config.toml"))
}

/// `$XDG_CONFIG_HOME/opsdeck/themes/`: the user's themes, `NAME.toml` each.
pub fn themes_dir() -> Result<PathBuf, NoHome> {
    Ok(base()?.config_dir().join(APP).join("themes"))
}

/// `$XDG_DATA_HOME/opsdeck/opsdeck.db`.
pub fn default_store() -> Result<PathBuf, NoHome> {
    Ok(base()?.data_dir().join(APP).join("opsdeck.db"))
}

/// `$XDG_STATE_HOME/opsdeck/`: logs.
pub fn state_dir() -> Result<PathBuf, NoHome> {
    let base = base()?;
    Ok(base
        .state_dir()
        .unwrap_or_else(|| base.data_dir())
        .join(APP))
}
