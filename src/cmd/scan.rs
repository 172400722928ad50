//! `fleetscan scan`.

use fleetscan::cli::ScanArgs;

/// Runs `fleetscan scan` and returns the process exit code.
pub(crate) fn run(_args: ScanArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`fleetscan scan` is not built yet in this version")
}
