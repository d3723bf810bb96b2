//! Configuration from a file, the environment and flags, in rising precedence.
//!
//! The file (`--config FILE` or `$ORCHESTRA_CONFIG`) is TOML whose keys are the settings'
//! names: `data`, `listen`, `retention`, `price_proof_rao`, `pay_to`, `network`,
//! `chain_url`, `orchestrate_fee_rao`, `orchestrate_budget_rao`, `tao_usd`, `hotkey_file`, `wallet`, `hotkey`, `wallet_path`, `max_deadline_ms`, `server`, `writers`, `subnet_hosts`, `tao_price_url`, `tao_price_pointer`, `prices`,
//! and the subnets' API keys, the hosts they are bound to and models as `sn<N>_key`,
//! `sn<N>_key_hosts` and `sn<N>_model`. Each setting also has an environment variable and a flag; clap reads those.
//! The file is applied by filling in the environment variables that are not already set,
//! before clap parses, so an environment variable beats the file and a flag beats both.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::CliError;

/// Settings a file may hold, with the environment variable each one fills.
const SETTINGS: [(&str, &str); 29] = [
    ("data", "ORCHESTRA_DATA"),
    ("listen", "ORCHESTRA_LISTEN"),
    ("retention", "ORCHESTRA_RETENTION"),
    ("price_proof_rao", "ORCHESTRA_PRICE_PROOF_RAO"),
    ("pay_to", "ORCHESTRA_PAY_TO"),
    ("network", "ORCHESTRA_NETWORK"),
    ("chain_url", "ORCHESTRA_CHAIN_URL"),
    ("orchestrate_fee_rao", "ORCHESTRA_ORCHESTRATE_FEE_RAO"),
    ("orchestrate_budget_rao", "ORCHESTRA_ORCHESTRATE_BUDGET_RAO"),
    ("tao_usd", "ORCHESTRA_TAO_USD"),
    ("hotkey_file", "ORCHESTRA_HOTKEY_FILE"),
    ("wallet", "ORCHESTRA_WALLET"),
    ("hotkey", "ORCHESTRA_HOTKEY"),
    ("wallet_path", "ORCHESTRA_WALLET_PATH"),
    ("max_deadline_ms", "ORCHESTRA_MAX_DEADLINE_MS"),
    ("server", "ORCHESTRA_URL"),
    ("netuid", "ORCHESTRA_NETUID"),
    ("allow_addresses", "ORCHESTRA_ALLOW_ADDRESSES"),
    ("allow_operator_addresses", "ORCHESTRA_ALLOW_OPERATOR_ADDRESSES"),
    ("allow_http_hosts", "ORCHESTRA_ALLOW_HTTP_HOSTS"),
    ("proposer_diffs_per_hour", "ORCHESTRA_PROPOSER_DIFFS_PER_HOUR"),
    ("proposer_bytes_per_hour", "ORCHESTRA_PROPOSER_BYTES_PER_HOUR"),
    ("max_orchestrations", "ORCHESTRA_MAX_ORCHESTRATIONS"),
    ("max_orchestrations_per_key", "ORCHESTRA_MAX_ORCHESTRATIONS_PER_KEY"),
    ("writers", "ORCHESTRA_WRITERS"),
    ("subnet_hosts", "ORCHESTRA_SUBNET_HOSTS"),
    ("tao_price_url", "ORCHESTRA_TAO_PRICE_URL"),
    ("tao_price_pointer", "ORCHESTRA_TAO_PRICE_POINTER"),
    ("prices", "ORCHESTRA_PRICES"),
];

/// The environment variable of a subnet setting, `sn<N>_key`, `sn<N>_key_hosts` or `sn<N>_model`, which the file
/// may hold besides [`SETTINGS`] (see `orchestrator::credentials`).
fn subnet_variable(name: &str) -> Option<String> {
    let rest = name.strip_prefix("sn")?;
    let (netuid, setting) = rest.split_once('_')?;
    let valid = !netuid.is_empty() && netuid.bytes().all(|byte| byte.is_ascii_digit()) && netuid.parse::<u16>().is_ok() && matches!(setting, "key" | "key_hosts" | "model");
    valid.then(|| format!("ORCHESTRA_SN{netuid}_{}", setting.to_uppercase()))
}

/// The config file named by `--config FILE`, `--config=FILE` or `$ORCHESTRA_CONFIG`.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.to_str().and_then(|arg| arg.strip_prefix("--config=")) {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("ORCHESTRA_CONFIG").map(PathBuf::from)
}

/// Reads the config file, if one is named, into the environment variables not already set.
pub fn apply(args: &[OsString]) -> Result<(), CliError> {
    let Some(path) = config_path(args) else { return Ok(()) };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|source| CliError::Read { path: shown.clone(), source })?;
    let table: toml::Table = text.parse().map_err(|error| CliError::Usage(format!("{shown} is not valid TOML: {error}")))?;
    for (name, value) in table {
        let known = SETTINGS.iter().find(|(setting, _)| *setting == name).map(|(_, variable)| (*variable).to_owned());
        let Some(variable) = known.or_else(|| subnet_variable(&name)) else {
            let known: Vec<&str> = SETTINGS.iter().map(|(setting, _)| *setting).collect();
            return Err(CliError::Usage(format!("{shown}: unknown setting `{name}` (known: {}, and sn<N>_key, sn<N>_key_hosts, sn<N>_model)", known.join(", "))));
        };
        let value = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(number) => number.to_string(),
            other => return Err(CliError::Usage(format!("{shown}: `{name}` must be a string or an integer, not {}", other.type_str()))),
        };
        if std::env::var_os(&variable).is_none() {
            // Single-threaded here: main calls this before anything else runs.
            std::env::set_var(&variable, value);
        }
    }
    Ok(())
}
