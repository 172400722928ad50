//! `fleetscan run`.

use fleetscan::cli::RunArgs;

/// Runs `fleetscan run` and returns the process exit code.
pub(crate) fn run(_args: RunArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`fleetscan run` is not built yet in this version")
}
