//! The node's hotkey: the sr25519 key that signs its receipts and its attestations.
//!
//! It is read from a file holding the 32-byte seed as hex (`--hotkey-file`), else from the
//! `ORCHESTRA_HOTKEY_SEED` environment variable; it is never taken on the command line, where
//! other users of the machine could read it. A node that needs a hotkey and is given none
//! makes one, once, in `<data>.hotkey` beside its data directory (readable by its owner only),
//! so that its receipts keep one signer across restarts.

use std::io::Write;
use std::path::{Path, PathBuf};

use ledger::hotkey::Hotkey;
use rand::RngCore;

use crate::cli::CliError;

/// Environment variable holding a hotkey seed (hex).
pub const HOTKEY_SEED_VAR: &str = "ORCHESTRA_HOTKEY_SEED";

/// The hotkey seed (64 hex digits) from `file` or the environment, if either gives one.
pub fn configured_seed(file: Option<&Path>) -> Result<Option<String>, CliError> {
    let seed = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|source| CliError::Read { path: path.display().to_string(), source })?,
        None => match std::env::var(HOTKEY_SEED_VAR) {
            Ok(seed) => seed,
            Err(_) => return Ok(None),
        },
    };
    let seed = seed.trim().trim_start_matches("0x").to_owned();
    Hotkey::from_hex_seed(&seed).map_err(|error| CliError::Usage(format!("the hotkey seed: {error}")))?;
    Ok(Some(seed))
}

/// The hotkey from `file` or the environment, if either gives one.
pub fn configured(file: Option<&Path>) -> Result<Option<Hotkey>, CliError> {
    Ok(configured_seed(file)?.map(|seed| Hotkey::from_hex_seed(&seed).expect("checked when read")))
}

/// The node's hotkey: the configured one, else the one kept beside `data`, made on first use.
pub fn node_hotkey(data: &Path, file: Option<&Path>) -> Result<Hotkey, CliError> {
    if let Some(hotkey) = configured(file)? {
        return Ok(hotkey);
    }
    match kept_hotkey(data)? {
        Some(hotkey) => Ok(hotkey),
        None => make_hotkey(&kept_hotkey_path(data)),
    }
}

/// The hotkey kept beside `data`, if one was made.
pub fn kept_hotkey(data: &Path) -> Result<Option<Hotkey>, CliError> {
    let path = kept_hotkey_path(data);
    match std::fs::read_to_string(&path) {
        Ok(seed) => Hotkey::from_hex_seed(seed.trim()).map(Some).map_err(|error| CliError::Usage(format!("{}: {error}", path.display()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CliError::Read { path: path.display().to_string(), source }),
    }
}

/// Where the hotkey made for the node on `data` is kept.
pub fn kept_hotkey_path(data: &Path) -> PathBuf {
    let mut name = data.file_name().map(|name| name.to_os_string()).unwrap_or_else(|| "orchestra-data".into());
    name.push(".hotkey");
    data.with_file_name(name)
}

/// Writes a new random seed to `path` (owner-only, never over an existing file) and loads it.
fn make_hotkey(path: &Path) -> Result<Hotkey, CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    let failed = |source| CliError::Read { path: path.display().to_string(), source };
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(failed)?;
    file.write_all(hex::encode(seed).as_bytes()).and_then(|()| file.sync_all()).map_err(failed)?;
    tracing::info!(path = %path.display(), "made the node's hotkey");
    Hotkey::from_seed(&seed).map_err(|error| CliError::Usage(error.to_string()))
}
