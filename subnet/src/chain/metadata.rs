//! Runtime metadata read from a file: what a node answers to `state_getMetadata`, saved with
//! `subxt metadata --url <node>`. Tests serve it through a mock node; the project keeps only
//! the path to it, never a copy.

use std::path::{Path, PathBuf};
use subxt::Metadata;

/// The environment variable that overrides [`metadata_path`].
pub const METADATA_ENV: &str = "ORCHESTRA_SUBTENSOR_METADATA";

#[derive(Debug, thiserror::Error)]
pub enum MetadataFileError {
    #[error(
        "cannot read the subtensor runtime metadata {}: {source}. It is needed here; get it from a \
         live node with `subxt metadata --url <node> > finney-spec393.scale` (cargo install subxt-cli) \
         and point {METADATA_ENV} at it",
        path.display()
    )]
    Missing { path: PathBuf, source: std::io::Error },
    #[error("{} is not SCALE-encoded runtime metadata: {source}", path.display())]
    Invalid { path: PathBuf, source: subxt::ext::codec::Error },
}

/// `$ORCHESTRA_SUBTENSOR_METADATA`, else finney's spec 393 metadata in `shared/subtensor/`
/// beside the project's clone.
pub fn metadata_path() -> PathBuf {
    match std::env::var_os(METADATA_ENV) {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/subtensor/finney-spec393.scale"),
    }
}

/// Reads and decodes a metadata file; returns its bytes too, for serving them over RPC.
pub fn read_metadata_file(path: &Path) -> Result<(Vec<u8>, Metadata), MetadataFileError> {
    let bytes = std::fs::read(path).map_err(|source| MetadataFileError::Missing { path: path.to_owned(), source })?;
    let metadata =
        Metadata::decode_from(&bytes).map_err(|source| MetadataFileError::Invalid { path: path.to_owned(), source })?;
    Ok((bytes, metadata))
}
