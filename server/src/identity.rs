//! The node's hotkey: the sr25519 key that signs its receipts and its attestations.
//!
//! It is read, in this order, from a file holding the 32-byte seed as hex (`--hotkey-file`),
//! from a `btcli` wallet's hotkey (`--wallet NAME --hotkey NAME [--wallet-path DIR]`, see
//! [`crate::wallet`]), or from the `ORCHESTRA_HOTKEY_SEED` environment variable; it is never
//! taken on the command line, where other users of the machine could read it. A node that
//! needs a hotkey and is given none makes one, once, in `<data>.hotkey` beside its data
//! directory (readable by its owner only), so that its receipts keep one signer across
//! restarts.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use ledger::hotkey::Hotkey;
use rand::RngCore;

use crate::cli::CliError;
use crate::wallet;

/// Environment variable holding a hotkey seed (hex).
pub const HOTKEY_SEED_VAR: &str = "ORCHESTRA_HOTKEY_SEED";

/// Where a command's hotkey comes from (see the module documentation).
#[derive(Args, Clone, Debug, Default)]
pub struct HotkeyArgs {
    /// File holding the hotkey seed (hex); else --wallet and --hotkey, else
    /// ORCHESTRA_HOTKEY_SEED.
    #[arg(long, env = "ORCHESTRA_HOTKEY_FILE", conflicts_with = "wallet")]
    pub hotkey_file: Option<PathBuf>,
    /// A btcli wallet whose hotkey (--hotkey) signs: `<wallet path>/<wallet>/hotkeys/<hotkey>`,
    /// unencrypted and readable by its owner only.
    #[arg(long, env = "ORCHESTRA_WALLET", requires = "hotkey")]
    pub wallet: Option<String>,
    /// The hotkey's name in --wallet.
    #[arg(long = "hotkey", env = "ORCHESTRA_HOTKEY", requires = "wallet")]
    pub hotkey: Option<String>,
    /// Where btcli keeps wallets (default ~/.bittensor/wallets).
    #[arg(long, env = "ORCHESTRA_WALLET_PATH")]
    pub wallet_path: Option<PathBuf>,
}

impl HotkeyArgs {
    /// The configured hotkey and its seed (64 hex digits), if any is configured.
    pub fn configured_seed(&self) -> Result<Option<(String, Hotkey)>, CliError> {
        if let (Some(wallet), Some(hotkey)) = (&self.wallet, &self.hotkey) {
            let path = wallet::hotkey_path(self.wallet_path.as_deref(), wallet, hotkey).map_err(|error| CliError::Usage(error.to_string()))?;
            let (seed, hotkey) = wallet::read_hotkey(&path).map_err(|error| CliError::Usage(error.to_string()))?;
            return Ok(Some((seed, hotkey)));
        }
        let seed = match &self.hotkey_file {
            Some(path) => std::fs::read_to_string(path).map_err(|source| CliError::Read { path: path.display().to_string(), source })?,
            None => match std::env::var(HOTKEY_SEED_VAR) {
                Ok(seed) => seed,
                Err(_) => return Ok(None),
            },
        };
        let seed = seed.trim().trim_start_matches("0x").to_owned();
        let hotkey = Hotkey::from_hex_seed(&seed).map_err(|error| CliError::Usage(format!("the hotkey seed: {error}")))?;
        Ok(Some((seed, hotkey)))
    }

    /// The configured hotkey, if any is configured.
    pub fn configured(&self) -> Result<Option<Hotkey>, CliError> {
        Ok(self.configured_seed()?.map(|(_, hotkey)| hotkey))
    }

    /// The node's hotkey: the configured one, else the one kept beside `data`, made on first use.
    pub fn node_hotkey(&self, data: &Path) -> Result<Hotkey, CliError> {
        if let Some(hotkey) = self.configured()? {
            return Ok(hotkey);
        }
        match kept_hotkey(data)? {
            Some(hotkey) => Ok(hotkey),
            None => make_hotkey(&kept_hotkey_path(data)),
        }
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
