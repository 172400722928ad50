//! `fleetscan diff`.

use fleetscan::cli::DiffArgs;

/// Runs `fleetscan diff` and returns the process exit code.
pub(crate) fn run(_args: DiffArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`fleetscan diff` is not built yet in this version")
}
