//! `fleetscan demo`.

use fleetscan::cli::DemoArgs;

/// Runs `fleetscan demo` and returns the process exit code.
pub(crate) fn run(_args: DemoArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`fleetscan demo` is not built yet in this version")
}
