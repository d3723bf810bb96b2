//! Bittensor wallets: the hotkey files `btcli` writes, read as the node's hotkey.
//!
//! Terms:
//! - **wallet directory**: `<wallet path>/<wallet>/`, the wallet path being
//!   `~/.bittensor/wallets` unless `--wallet-path` names another; a hotkey is the file
//!   `hotkeys/<hotkey>` in it.
//! - **hotkey file**: JSON as the Bittensor wallet writes an unencrypted keypair:
//!   `secretSeed` (the 32-byte mini secret, `0x`-hex), `publicKey`/`accountId` and
//!   `ss58Address`, with `secretPhrase` and `privateKey` beside them. The key is rebuilt from
//!   `secretSeed` and must give the public key and address the file states, so a file edited
//!   by hand or for another key is refused rather than signing as someone else.
//! - **private**: a hotkey file the group and others can neither read nor write (the wallet
//!   writes them `0600`): a readable hotkey is a leaked one, as `ssh` treats private keys.
//!
//! Encrypted hotkeys (`$NACL`, Ansible vault, the legacy Fernet form) are refused with the
//! `btcli` command that decrypts them: a node runs unattended and has no one to ask for a
//! password.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ledger::hotkey::{ss58_encode, Hotkey};
use serde::Deserialize;

/// Where btcli keeps wallets, under the home directory.
const DEFAULT_WALLET_PATH: &str = ".bittensor/wallets";

/// How an encrypted keyfile starts, and what encrypted it.
const ENCRYPTED: [(&[u8], &str); 3] = [(b"$NACL", "NaCl"), (b"$ANSIBLE_VAULT", "Ansible vault"), (b"gAAAAA", "Fernet")];

/// Why a wallet's hotkey cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("cannot read the hotkey file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the hotkey file {path} can be read or written by other users (mode {mode:o}); run `chmod 600 {path}`")]
    NotPrivate { path: String, mode: u32 },
    #[error("the hotkey file {path} is encrypted ({how}); this node runs unattended and cannot ask for its password: keep the hotkey unencrypted, as `btcli wallet new_hotkey` makes it by default")]
    Encrypted { path: String, how: &'static str },
    #[error("the hotkey file {path} is not a Bittensor keyfile: {reason}")]
    Malformed { path: String, reason: String },
    #[error("the hotkey file {path} holds no secretSeed (a key known only by its expanded private key cannot be rebuilt here); regenerate it from its mnemonic with `btcli wallet regen_hotkey`")]
    NoSeed { path: String },
    #[error("the hotkey file {path} states {stated}, but its secretSeed is the key of {derived}")]
    Mismatch { path: String, stated: String, derived: String },
    #[error("no home directory to find ~/{DEFAULT_WALLET_PATH} in: give --wallet-path")]
    NoHome,
}

/// The fields of a keyfile this reads; the others (`secretPhrase`, `privateKey`) are left alone.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keyfile {
    secret_seed: Option<String>,
    public_key: Option<String>,
    account_id: Option<String>,
    ss58_address: Option<String>,
}

/// The file of `hotkey` in `wallet`, under `wallet_path` or else `~/.bittensor/wallets`.
pub fn hotkey_path(wallet_path: Option<&Path>, wallet: &str, hotkey: &str) -> Result<PathBuf, WalletError> {
    let base = match wallet_path {
        Some(path) => path.to_owned(),
        None => std::env::var_os("HOME").filter(|home| !home.is_empty()).map(|home| Path::new(&home).join(DEFAULT_WALLET_PATH)).ok_or(WalletError::NoHome)?,
    };
    Ok(base.join(wallet).join("hotkeys").join(hotkey))
}

/// The hotkey in the keyfile at `path` (see the module terms), and its seed as 64 hex digits.
pub fn read_hotkey(path: &Path) -> Result<(String, Hotkey), WalletError> {
    let shown = path.display().to_string();
    let read_error = |source| WalletError::Read { path: shown.clone(), source };
    let mode = std::fs::metadata(path).map_err(read_error)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(WalletError::NotPrivate { path: shown, mode });
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    let trimmed = bytes.trim_ascii_start();
    if let Some((_, how)) = ENCRYPTED.iter().find(|(prefix, _)| trimmed.starts_with(prefix)) {
        return Err(WalletError::Encrypted { path: shown, how });
    }
    let malformed = |reason: String| WalletError::Malformed { path: shown.clone(), reason };
    let keyfile: Keyfile = serde_json::from_slice(trimmed).map_err(|error| malformed(error.to_string()))?;
    let seed = keyfile.secret_seed.ok_or_else(|| WalletError::NoSeed { path: shown.clone() })?;
    let seed = seed.trim_start_matches("0x").to_owned();
    let hotkey = Hotkey::from_hex_seed(&seed).map_err(|error| malformed(format!("secretSeed: {error}")))?;
    let derived = hotkey.ss58();
    let public = format!("0x{}", hex::encode(hotkey.public()));
    let stated_keys = [keyfile.public_key, keyfile.account_id].into_iter().flatten().map(|key| key.to_ascii_lowercase());
    for stated in stated_keys {
        if stated != public {
            return Err(WalletError::Mismatch { path: shown, stated, derived: public });
        }
    }
    if let Some(stated) = keyfile.ss58_address {
        // Addresses in another SS58 format name the same key; compare the key itself.
        let same = ledger::hotkey::ss58_decode(&stated).is_ok_and(|key| ss58_encode(&key) == derived);
        if !same {
            return Err(WalletError::Mismatch { path: shown, stated, derived });
        }
    }
    Ok((seed, hotkey))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// `body` written as a hotkey file at `mode`.
    fn write(dir: &Path, body: &[u8], mode: u32) -> PathBuf {
        let path = dir.join("hotkey");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// The keyfile of the hotkey of `seed`, as the wallet writes an unencrypted one.
    fn keyfile(seed: [u8; 32]) -> serde_json::Value {
        let hotkey = Hotkey::from_seed(&seed).unwrap();
        serde_json::json!({
            "accountId": format!("0x{}", hex::encode(hotkey.public())),
            "publicKey": format!("0x{}", hex::encode(hotkey.public())),
            "privateKey": format!("0x{}", "ab".repeat(64)),
            "secretPhrase": null,
            "secretSeed": format!("0x{}", hex::encode(seed)),
            "ss58Address": hotkey.ss58(),
        })
    }

    #[test]
    fn an_unencrypted_private_hotkey_file_gives_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), keyfile([7; 32]).to_string().as_bytes(), 0o600);
        let (seed, hotkey) = read_hotkey(&path).unwrap();
        assert_eq!((seed, hotkey.ss58()), (hex::encode([7; 32]), Hotkey::from_seed(&[7; 32]).unwrap().ss58()));
    }

    #[test]
    fn a_readable_encrypted_edited_or_seedless_hotkey_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = keyfile([7; 32]);
        let refused = |body: &[u8], mode: u32| read_hotkey(&write(dir.path(), body, mode)).err().expect("refused");
        assert!(matches!(refused(good.to_string().as_bytes(), 0o644), WalletError::NotPrivate { mode: 0o644, .. }));
        assert!(matches!(refused(b"$NACL\x01\x02", 0o600), WalletError::Encrypted { how: "NaCl", .. }));
        let mut other = good.clone();
        other["ss58Address"] = Hotkey::from_seed(&[8; 32]).unwrap().ss58().into();
        assert!(matches!(refused(other.to_string().as_bytes(), 0o600), WalletError::Mismatch { .. }));
        let mut other = good.clone();
        other["publicKey"] = format!("0x{}", hex::encode(Hotkey::from_seed(&[8; 32]).unwrap().public())).into();
        assert!(matches!(refused(other.to_string().as_bytes(), 0o600), WalletError::Mismatch { .. }));
        let mut seedless = good.clone();
        seedless["secretSeed"] = serde_json::Value::Null;
        assert!(matches!(refused(seedless.to_string().as_bytes(), 0o600), WalletError::NoSeed { .. }));
        assert!(matches!(refused(b"not json", 0o600), WalletError::Malformed { .. }));
    }

    #[test]
    fn a_hotkey_is_found_under_the_wallet_path() {
        let path = hotkey_path(Some(Path::new("/keys")), "miner", "default").unwrap();
        assert_eq!(path, Path::new("/keys/miner/hotkeys/default"));
    }
}
