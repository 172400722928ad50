//! `fleetscan checks`.

use fleetscan::cli::ChecksArgs;

/// Runs `fleetscan checks` and returns the process exit code.
pub(crate) fn run(_args: ChecksArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`fleetscan checks` is not built yet in this version")
}
