//! `fleetscan report`.

use fleetscan::cli::ReportArgs;

/// Runs `fleetscan report` and returns the process exit code.
pub(crate) fn run(_args: ReportArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`fleetscan report` is not built yet in this version")
}
