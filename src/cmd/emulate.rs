//! `fleetscan emulate`.

use fleetscan::cli::EmulateArgs;

/// Runs `fleetscan emulate` and returns the process exit code.
pub(crate) fn run(_args: EmulateArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`fleetscan emulate` is not built yet in this version")
}
