//! The WinRS shell lifecycle for one command: Create → Command → Receive … until
//! `CommandState/Done` → Delete, with Signal(terminate) only when the command did
//! not finish. Delete is sent on every path that created a shell, errors included:
//! the server keeps a leaked shell until its IdleTimeout and 30 of them lock the
//! account out of the host (MaxShellsPerUser).

use super::clixml::ClixmlDecoder;
use super::envelope::{self, CreateParams, SignalCode};
use super::error::{Action, WinrmError};
use super::output::{LineSplitter, OutputSink};
use super::powershell::PreparedCommand;
use super::response::{self, CommandState, StreamName};
use super::session::Session;
use super::{CommandExit, RunLimits};

/// How far one run got; decides the cleanup.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// The shell exists, no command yet.
    ShellOnly,
    /// The command was started and has not reported Done.
    Running { command_id: String },
    /// The command reported Done.
    Done,
}

impl Session {
    /// Create shell, Command, Receive until Done, Delete — Delete on every path.
    ///
    /// Stops at `limits.deadline` or when `limits.cancel` fires: then
    /// Signal(terminate) + Delete within `limits.cleanup` (over a fresh connection
    /// if the interrupted request left the old one in an unknown state), and
    /// returns `DeadlinePassed` / `Cancelled`. Lines already handed to `sink`
    /// stay delivered.
    ///
    /// # Errors
    /// Any [`WinrmError`]; a failed cleanup is logged, not returned. With NTLM the
    /// first request of a connection carries the AUTHENTICATE, so a wrong password
    /// or channel binding shows here as `CredentialsRejected` (never retried).
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future skips the Delete and leaks the shell
    /// until its IdleTimeOut. Use `limits.cancel` to stop a run.
    pub async fn run(
        &mut self,
        command: &PreparedCommand,
        sink: &mut dyn OutputSink,
        limits: &RunLimits,
    ) -> Result<CommandExit, WinrmError> {
        if !self.is_connected() {
            // A previous run ended with the connection dropped: re-authenticate first.
            tokio::select! {
                // Dropping `establish` only drops a half-built connection.
                biased;
                () = limits.cancel.cancelled() => {
                    return Err(WinrmError::Cancelled { host: self.host().to_owned(), action: Action::Connect });
                }
                () = tokio::time::sleep_until(limits.deadline) => {
                    return Err(WinrmError::DeadlinePassed { host: self.host().to_owned(), action: Action::Connect });
                }
                r = self.establish() => r?,
            }
        }
        let (environment_xml, command_line_xml) = command.rendered();
        let create = envelope::create(
            &self.header,
            &CreateParams {
                idle_timeout: self.opts().idle_timeout,
                environment_xml: &environment_xml,
                codepage: 65001,
            },
        );
        // If the deadline interrupts Create, the shell may exist with an id we never
        // saw; its IdleTimeOut (set above) is the only cleanup possible.
        // The Create response echoes the whole environment (~17 KB with a prepared
        // program, as Windows does); scoped so it is freed before the command runs
        // instead of being held through every Receive of a waiting session.
        let shell_id = {
            let body = self.soap(Action::Create, create, Some(limits)).await?;
            response::shell_id(&body, self.xml_limits())
                .map_err(|e| self.response_error(Action::Create, e))?
        };
        let mut phase = Phase::ShellOnly;
        let result = self
            .drive(&shell_id, &command_line_xml, sink, limits, &mut phase)
            .await;
        self.cleanup(&shell_id, &phase, limits).await;
        result
    }

    /// Command, then Receive until Done, feeding the sink; records progress in `phase`.
    ///
    /// # Cancel safety
    /// Not cancel safe (in-flight requests); stops through `limits` instead.
    async fn drive(
        &mut self,
        shell_id: &str,
        command_line_xml: &str,
        sink: &mut dyn OutputSink,
        limits: &RunLimits,
        phase: &mut Phase,
    ) -> Result<CommandExit, WinrmError> {
        let xml = envelope::command(&self.header, shell_id, command_line_xml);
        // Scoped like Create's: nothing of the Command exchange outlives the id.
        let command_id = {
            let body = self.soap(Action::Command, xml, Some(limits)).await?;
            response::command_id(&body, self.xml_limits())
                .map_err(|e| self.response_error(Action::Command, e))?
        };
        *phase = Phase::Running {
            command_id: command_id.clone(),
        };
        let mut stdout = LineSplitter::default();
        let mut stderr = ClixmlDecoder::default();
        loop {
            let xml = envelope::receive(&self.header, shell_id, &command_id);
            // The response is freed once decoded, before the sink parses the lines.
            let out = {
                let body = match self.soap(Action::Receive, xml, Some(limits)).await {
                    Ok(body) => body,
                    // w:TimedOut (2150858793) only means "no output yet": ask again;
                    // our deadline ends the run (MS-WSMV 3.1.4.14).
                    Err(WinrmError::Fault { fault, .. }) if fault.is_operation_timeout() => {
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                match response::receive(&body, self.xml_limits(), &command_id) {
                    Ok(out) => out,
                    Err(response::ResponseError::Fault(f)) if f.is_operation_timeout() => continue,
                    Err(e) => return Err(self.response_error(Action::Receive, e)),
                }
            };
            for chunk in &out.chunks {
                self.output_bytes = self.output_bytes.saturating_add(chunk.data.len());
                if self.output_bytes > self.opts().max_output_bytes {
                    return Err(WinrmError::TooLarge {
                        host: self.host().to_owned(),
                        action: Action::Receive,
                        what: "command output (bytes)",
                        limit: self.opts().max_output_bytes,
                    });
                }
                match chunk.stream {
                    StreamName::Stdout => stdout.push(&chunk.data, &mut |l| sink.stdout_line(l)),
                    StreamName::Stderr => {
                        let text = stderr.push(&chunk.data);
                        if !text.is_empty() {
                            sink.stderr_text(&text);
                        }
                    }
                    StreamName::Other(_) => {}
                }
            }
            if let CommandState::Done { exit_code } = out.state {
                *phase = Phase::Done;
                stdout.finish(&mut |l| sink.stdout_line(l));
                let text = stderr.finish();
                if !text.is_empty() {
                    sink.stderr_text(&text);
                }
                let exit_code = exit_code.ok_or_else(|| WinrmError::MalformedResponse {
                    host: self.host().to_owned(),
                    action: Action::Receive,
                    detail: "CommandState Done without an ExitCode".to_owned(),
                })?;
                return Ok(CommandExit { exit_code });
            }
        }
    }

    /// Signal(terminate) if the command is still running, then Delete; bounded by
    /// `limits.cleanup` and deliberately not by the deadline or the cancel token.
    ///
    /// After Done we skip Signal and just Delete: MS-WSMV 3.1.4.14 asks for a final
    /// terminate so the shell can drop cached output before its *next* command, but
    /// Delete frees the whole shell (3.1.4.4.1), so the Signal would only cost a
    /// round trip (research: roundtrips_and_kerberos.md A.3).
    ///
    /// # Cancel safety
    /// Bounded by its own timeout; dropping it early leaks the shell until IdleTimeOut.
    async fn cleanup(&mut self, shell_id: &str, phase: &Phase, limits: &RunLimits) {
        let host = self.host().to_owned();
        let work = async {
            if let Phase::Running { command_id } = phase {
                if !self.is_connected() {
                    self.establish().await?;
                }
                let xml =
                    envelope::signal(&self.header, shell_id, command_id, SignalCode::Terminate);
                let limits = self.xml_limits();
                let signalled = self.soap(Action::Signal, xml, None).await.and_then(|b| {
                    response::empty_ok(&b, limits)
                        .map_err(|e| self.response_error(Action::Signal, e))
                });
                if let Err(e) = signalled {
                    tracing::debug!(host = %host, error = %e, "signal failed; deleting anyway");
                }
            }
            if !self.is_connected() {
                self.establish().await?;
            }
            let xml = envelope::delete(&self.header, shell_id);
            let limits = self.xml_limits();
            let body = self.soap(Action::Delete, xml, None).await?;
            response::empty_ok(&body, limits).map_err(|e| self.response_error(Action::Delete, e))
        };
        match tokio::time::timeout(limits.cleanup, work).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.leaked_shells += 1;
                tracing::debug!(host = %host, error = %e, "shell delete failed");
            }
            Err(_) => {
                // The dropped request left the connection in an unknown state.
                self.drop_connection();
                self.leaked_shells += 1;
                tracing::debug!(host = %host, "shell cleanup ran out of time");
            }
        }
    }
}
