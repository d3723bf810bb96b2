//! sr25519 hotkeys as Bittensor wallets use them: schnorrkel signatures under the signing
//! context `b"substrate"`, keys written as SS58 addresses with prefix 42.

use blake2::{Blake2b512, Digest};
use schnorrkel::{ExpansionMode, Keypair, MiniSecretKey, PublicKey, Signature};

/// The signing context of Substrate and Bittensor wallets.
const SIGNING_CONTEXT: &[u8] = b"substrate";
/// SS58 address type of Bittensor (the generic Substrate prefix).
pub const SS58_PREFIX: u8 = 42;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HotkeyError {
    #[error("`{0}` is not an SS58 address: {1}")]
    BadAddress(String, &'static str),
    #[error("the signature is not 64 bytes of a valid sr25519 signature")]
    MalformedSignature,
    #[error("the signature does not verify for hotkey {0}")]
    BadSignature(String),
    #[error("a secret seed is 32 bytes (64 hex digits)")]
    BadSeed,
}

/// A signing hotkey.
#[derive(Clone)]
pub struct Hotkey(Keypair);

impl Hotkey {
    /// The key a wallet derives from a 32-byte mini secret seed.
    pub fn from_seed(seed: &[u8]) -> Result<Hotkey, HotkeyError> {
        let secret = MiniSecretKey::from_bytes(seed).map_err(|_| HotkeyError::BadSeed)?;
        Ok(Hotkey(secret.expand_to_keypair(ExpansionMode::Ed25519)))
    }

    /// Parses a seed written as hex, with or without `0x`.
    pub fn from_hex_seed(text: &str) -> Result<Hotkey, HotkeyError> {
        let text = text.trim();
        let seed = hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|_| HotkeyError::BadSeed)?;
        Hotkey::from_seed(&seed)
    }

    pub fn public(&self) -> [u8; 32] {
        self.0.public.to_bytes()
    }

    pub fn ss58(&self) -> String {
        ss58_encode(&self.public())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign_simple(SIGNING_CONTEXT, message).to_bytes()
    }
}

/// Checks `signature` over `message` by the hotkey at SS58 `address`.
pub fn verify_signature(address: &str, message: &[u8], signature: &[u8]) -> Result<(), HotkeyError> {
    let public = ss58_decode(address)?;
    let public = PublicKey::from_bytes(&public).map_err(|_| HotkeyError::BadAddress(address.to_owned(), "not an sr25519 public key"))?;
    let signature = Signature::from_bytes(signature).map_err(|_| HotkeyError::MalformedSignature)?;
    public
        .verify_simple(SIGNING_CONTEXT, message, &signature)
        .map_err(|_| HotkeyError::BadSignature(address.to_owned()))
}

fn ss58_checksum(payload: &[u8]) -> [u8; 2] {
    let mut hasher = Blake2b512::new();
    hasher.update(b"SS58PRE");
    hasher.update(payload);
    let digest = hasher.finalize();
    [digest[0], digest[1]]
}

pub fn ss58_encode(public: &[u8; 32]) -> String {
    let mut payload = Vec::with_capacity(35);
    payload.push(SS58_PREFIX);
    payload.extend_from_slice(public);
    let checksum = ss58_checksum(&payload);
    payload.extend_from_slice(&checksum);
    bs58::encode(payload).into_string()
}

/// The public key of an SS58 address with Bittensor's prefix.
pub fn ss58_decode(address: &str) -> Result<[u8; 32], HotkeyError> {
    let bad = |reason| HotkeyError::BadAddress(address.to_owned(), reason);
    let bytes = bs58::decode(address).into_vec().map_err(|_| bad("not base58"))?;
    if bytes.len() != 35 {
        return Err(bad("wrong length for a 32-byte account"));
    }
    if bytes[0] != SS58_PREFIX {
        return Err(bad("not a Bittensor address (prefix 42)"));
    }
    if ss58_checksum(&bytes[..33]) != bytes[33..] {
        return Err(bad("checksum mismatch"));
    }
    Ok(bytes[1..33].try_into().expect("32 bytes"))
}

/// Signatures as `0x`-prefixed hex in JSON and 64 raw bytes in MessagePack.
pub(crate) mod signature_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(signature: &[u8; 64], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&format!("0x{}", hex::encode(signature)))
        } else {
            serializer.serialize_bytes(signature)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 64], D::Error> {
        use serde::de::Error;
        let bytes = if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            hex::decode(text.strip_prefix("0x").unwrap_or(&text)).map_err(D::Error::custom)?
        } else {
            serde_bytes::ByteBuf::deserialize(deserializer)?.into_vec()
        };
        bytes.as_slice().try_into().map_err(|_| D::Error::invalid_length(bytes.len(), &"64 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signature verifies only for its own message and signer; a mangled address is refused.
    #[test]
    fn sign_verify_and_address_round_trip() {
        let key = Hotkey::from_seed(&[7u8; 32]).unwrap();
        let address = key.ss58();
        assert!(address.starts_with('5'));
        assert_eq!(ss58_decode(&address).unwrap(), key.public());
        let signature = key.sign(b"message");
        verify_signature(&address, b"message", &signature).unwrap();
        assert_eq!(verify_signature(&address, b"other", &signature), Err(HotkeyError::BadSignature(address.clone())));
        let mut tampered = address.into_bytes();
        tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
        assert!(ss58_decode(std::str::from_utf8(&tampered).unwrap()).is_err());
    }

    /// The SS58 form of a known public key: Alice's sr25519 account in every Substrate chain.
    #[test]
    fn encodes_alice() {
        let alice = hex::decode("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d").unwrap();
        assert_eq!(ss58_encode(&alice.try_into().unwrap()), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
    }
}
