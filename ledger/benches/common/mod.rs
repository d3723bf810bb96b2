//! Measurement helpers shared by the benchmarks: sizes on disk, peak memory, medians and
//! random subnet keys.

use std::path::Path;

use ledger::{Key, Namespace};
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::StdRng;
use rand::Rng;

/// Bytes of every file below `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("the directory is readable")
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dir_bytes(&path)
            } else {
                std::fs::metadata(&path).expect("the file exists").len()
            }
        })
        .sum()
}

/// This process's peak resident memory (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib / 1024.0
}

pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[middle]
    } else {
        (samples[middle - 1] + samples[middle]) / 2.0
    }
}

/// A random key: one of `namespaces` subnets, an alphanumeric path of `path_len` characters.
pub fn random_key(rng: &mut StdRng, namespaces: u16, path_len: usize) -> Key {
    let namespace = Namespace::Subnet(rng.gen_range(0..namespaces));
    Key::new(namespace, Alphanumeric.sample_string(rng, path_len)).expect("alphanumeric paths are valid")
}

/// The command line of every benchmark: `[--quick] [--json FILE]`, and the hidden
/// `--child A B` by which the parent runs one measurement in a process of its own (so that
/// each process's peak memory is that measurement's).
pub struct Args {
    pub quick: bool,
    pub json: Option<std::path::PathBuf>,
    pub child: Option<[String; 2]>,
}

pub fn parse_args(usage: &str) -> Args {
    let mut args = Args { quick: false, json: None, child: None };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--quick" => args.quick = true,
            "--json" => args.json = Some(words.next().unwrap_or_else(|| fail(usage, "--json needs a file")).into()),
            "--child" => match (words.next(), words.next()) {
                (Some(first), Some(second)) => args.child = Some([first, second]),
                _ => fail(usage, "--child needs two words"),
            },
            // `cargo bench` passes it to every bench binary.
            "--bench" => {}
            other => fail(usage, &format!("unknown argument `{other}`")),
        }
    }
    args
}

pub fn fail(usage: &str, message: &str) -> ! {
    eprintln!("{message}\n{usage}");
    std::process::exit(2)
}
