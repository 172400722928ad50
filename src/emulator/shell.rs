//! WinRS state of one emulated host: its shells (owner, environment, idle
//! timeout), their commands, and how much of each command's output has been
//! handed out. Synchronous and clock-driven (the caller passes "now"), so the
//! long-poll in the server only asks [`Shells::receive`] and waits for the instant
//! it names.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::wire::{Fault, ReceiveChunk};

/// Windows' default `Winrs/MaxShellsPerUser`.
pub(crate) const MAX_SHELLS_PER_USER: usize = 30;
/// Windows' default `Winrs/IdleTimeout` on current servers (2 h).
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(7200);
/// Largest raw piece in one `rsp:Stream` element.
const MAX_STREAM_PIECE: usize = 32 * 1024;

/// What a command prints and when: the output is fixed when the command starts;
/// time only decides how much of it is visible.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Filler bytes printed before `stdout` (the `huge_output` fault), made on demand.
    pub(crate) filler: usize,
    /// The real stdout (CRLF line ends).
    pub(crate) stdout: Vec<u8>,
    /// Bytes of `stdout` visible right after Command; the rest appears at `runtime`.
    pub(crate) early: usize,
    pub(crate) stderr: Vec<u8>,
    pub(crate) exit_code: i32,
    /// Time from Command to Done.
    pub(crate) runtime: Duration,
    /// The command never reaches Done (the `ps_timeout` fault).
    pub(crate) never_done: bool,
}

impl Plan {
    fn total(&self) -> usize {
        self.filler + self.stdout.len()
    }

    /// Bytes of the virtual stdout (filler then stdout) in `from..to`.
    fn slice(&self, from: usize, to: usize) -> Vec<u8> {
        const LINE: &[u8] =
            b"HUGE-OUTPUT 0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
        let mut out = Vec::with_capacity(to.saturating_sub(from));
        for p in from..to.min(self.filler) {
            out.push(LINE[p % LINE.len()]);
        }
        let s_from = from.max(self.filler) - self.filler;
        let s_to = to.max(self.filler) - self.filler;
        if s_from < s_to {
            out.extend_from_slice(self.stdout.get(s_from..s_to).unwrap_or_default());
        }
        out
    }
}

#[derive(Debug)]
enum Run {
    /// Started by a bootstrap that reads its program from stdin.
    WaitingForStdin(Vec<u8>),
    Running {
        plan: Arc<Plan>,
        started: Instant,
        /// Bytes of the virtual stdout already handed out.
        sent: usize,
        stderr_sent: bool,
        done_sent: bool,
    },
}

#[derive(Debug)]
struct Shell {
    owner: String,
    idle_timeout: Duration,
    last_used: Instant,
    env: Vec<(String, String)>,
    /// The Create request's `wsman:OptionSet` (WINRS_CODEPAGE, WINRS_NOPROFILE, …).
    #[cfg_attr(not(test), allow(dead_code))]
    options: Vec<(String, String)>,
    commands: HashMap<String, Run>,
    /// Most recent command id (for a Receive without a CommandId).
    last_command: Option<String>,
}

/// What [`Shells::receive`] found.
#[derive(Debug)]
pub(crate) enum Poll {
    /// Answer now with this, for the command with this id.
    Ready(String, ReceiveChunk),
    /// Nothing to say before this instant (`None`: nothing will ever change).
    Wait(Option<Instant>),
}

/// The shells of one host.
#[derive(Debug, Default)]
pub(crate) struct Shells {
    shells: HashMap<String, Shell>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

impl Shells {
    /// Drops shells idle for longer than their IdleTimeOut.
    pub(crate) fn expire(&mut self, now: Instant) {
        self.shells
            .retain(|_, s| now.saturating_duration_since(s.last_used) <= s.idle_timeout);
    }

    /// Number of live shells.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shells.len()
    }

    /// Creates a shell for `owner`.
    ///
    /// # Errors
    /// The quota fault when `owner` already has [`MAX_SHELLS_PER_USER`] shells.
    pub(crate) fn create(
        &mut self,
        owner: &str,
        env: Vec<(String, String)>,
        options: Vec<(String, String)>,
        idle_timeout: Duration,
        now: Instant,
    ) -> Result<String, Fault> {
        let owned = self.shells.values().filter(|s| s.owner == owner).count();
        if owned >= MAX_SHELLS_PER_USER {
            return Err(Fault::quota(MAX_SHELLS_PER_USER));
        }
        let id = new_id();
        self.shells.insert(
            id.clone(),
            Shell {
                owner: owner.to_owned(),
                idle_timeout,
                last_used: now,
                env,
                options,
                commands: HashMap::new(),
                last_command: None,
            },
        );
        Ok(id)
    }

    fn shell_mut(&mut self, shell_id: &str, now: Instant) -> Result<&mut Shell, Fault> {
        let shell = self
            .shells
            .get_mut(shell_id)
            .ok_or_else(|| Fault::unknown_shell(shell_id))?;
        shell.last_used = now;
        Ok(shell)
    }

    /// The options the shell was created with.
    #[cfg(test)]
    pub(crate) fn options(&self, shell_id: &str) -> Option<&[(String, String)]> {
        self.shells.get(shell_id).map(|s| s.options.as_slice())
    }

    /// The environment the shell was created with.
    pub(crate) fn env(
        &mut self,
        shell_id: &str,
        now: Instant,
    ) -> Result<Vec<(String, String)>, Fault> {
        Ok(self.shell_mut(shell_id, now)?.env.clone())
    }

    /// Starts a command with a fixed plan; returns its id.
    pub(crate) fn start(
        &mut self,
        shell_id: &str,
        plan: Plan,
        now: Instant,
    ) -> Result<String, Fault> {
        let shell = self.shell_mut(shell_id, now)?;
        let id = new_id();
        shell.commands.insert(
            id.clone(),
            Run::Running {
                plan: Arc::new(plan),
                started: now,
                sent: 0,
                stderr_sent: false,
                done_sent: false,
            },
        );
        shell.last_command = Some(id.clone());
        Ok(id)
    }

    /// Starts a command that waits for its program on stdin.
    pub(crate) fn start_waiting(&mut self, shell_id: &str, now: Instant) -> Result<String, Fault> {
        let shell = self.shell_mut(shell_id, now)?;
        let id = new_id();
        shell
            .commands
            .insert(id.clone(), Run::WaitingForStdin(Vec::new()));
        shell.last_command = Some(id.clone());
        Ok(id)
    }

    /// Adds stdin. Returns the whole input when `end` completes it for a command
    /// that waits for its program (the caller then [`Shells::begin`]s it).
    pub(crate) fn send(
        &mut self,
        shell_id: &str,
        command_id: &str,
        data: &[u8],
        end: bool,
        now: Instant,
    ) -> Result<Option<Vec<u8>>, Fault> {
        let shell = self.shell_mut(shell_id, now)?;
        match shell.commands.get_mut(command_id) {
            None => Err(Fault::unknown_command()),
            Some(Run::WaitingForStdin(buf)) => {
                // Bounded like the program itself.
                if buf.len() + data.len() <= 16 * 1024 * 1024 {
                    buf.extend_from_slice(data);
                }
                Ok(end.then(|| std::mem::take(buf)))
            }
            // A running program that does not read stdin ignores it.
            Some(Run::Running { .. }) => Ok(None),
        }
    }

    /// Gives a waiting command its plan.
    pub(crate) fn begin(
        &mut self,
        shell_id: &str,
        command_id: &str,
        plan: Plan,
        now: Instant,
    ) -> Result<(), Fault> {
        let shell = self.shell_mut(shell_id, now)?;
        let run = shell
            .commands
            .get_mut(command_id)
            .ok_or_else(Fault::unknown_command)?;
        *run = Run::Running {
            plan: Arc::new(plan),
            started: now,
            sent: 0,
            stderr_sent: false,
            done_sent: false,
        };
        Ok(())
    }

    /// Hands out what the command has printed since the last Receive, at most
    /// `budget` raw bytes.
    pub(crate) fn receive(
        &mut self,
        shell_id: &str,
        command_id: Option<&str>,
        budget: usize,
        now: Instant,
    ) -> Result<Poll, Fault> {
        let shell = self.shell_mut(shell_id, now)?;
        let id = match command_id {
            Some(id) => id.to_owned(),
            None => shell
                .last_command
                .clone()
                .ok_or_else(Fault::unknown_command)?,
        };
        let Some(run) = shell.commands.get_mut(&id) else {
            return Err(Fault::unknown_command());
        };
        let Run::Running {
            plan,
            started,
            sent,
            stderr_sent,
            done_sent,
        } = run
        else {
            return Ok(Poll::Wait(None));
        };
        let elapsed = now.saturating_duration_since(*started);
        let finished = !plan.never_done && elapsed >= plan.runtime;
        let visible = if finished {
            plan.total()
        } else {
            plan.filler + plan.early.min(plan.stdout.len())
        };
        let mut chunk = ReceiveChunk::default();
        let mut room = budget.max(1024);
        while *sent < visible && room > 0 {
            let take = (visible - *sent).min(MAX_STREAM_PIECE).min(room);
            chunk.stdout.push(plan.slice(*sent, *sent + take));
            *sent += take;
            room -= take;
        }
        if finished && *sent == plan.total() && !*done_sent {
            if !*stderr_sent && !plan.stderr.is_empty() {
                if plan.stderr.len() > room && !chunk.stdout.is_empty() {
                    return Ok(Poll::Ready(id, chunk));
                }
                for piece in plan.stderr.chunks(MAX_STREAM_PIECE) {
                    chunk.stderr.push(piece.to_vec());
                }
            }
            *stderr_sent = true;
            *done_sent = true;
            chunk.done = Some(plan.exit_code);
            return Ok(Poll::Ready(id, chunk));
        }
        if *done_sent {
            // Windows answers a Receive after Done with Done again.
            chunk.done = Some(plan.exit_code);
            return Ok(Poll::Ready(id, chunk));
        }
        if !chunk.stdout.is_empty() {
            return Ok(Poll::Ready(id, chunk));
        }
        if plan.never_done {
            return Ok(Poll::Wait(None));
        }
        Ok(Poll::Wait(Some(*started + plan.runtime)))
    }

    /// Signal (terminate or ctrl_c): the command ends and is forgotten.
    pub(crate) fn signal(
        &mut self,
        shell_id: &str,
        command_id: &str,
        now: Instant,
    ) -> Result<(), Fault> {
        let shell = self.shell_mut(shell_id, now)?;
        shell
            .commands
            .remove(command_id)
            .map(|_| ())
            .ok_or_else(Fault::unknown_command)
    }

    /// Delete frees the shell and ends its commands.
    pub(crate) fn delete(&mut self, shell_id: &str) -> Result<(), Fault> {
        self.shells
            .remove(shell_id)
            .map(|_| ())
            .ok_or_else(|| Fault::unknown_shell(shell_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::wire::codes;

    fn plan(lines: &[&str], runtime: Duration) -> Plan {
        let stdout: Vec<u8> = lines
            .iter()
            .flat_map(|l| format!("{l}\r\n").into_bytes())
            .collect();
        let early = lines
            .iter()
            .take(lines.len() / 2)
            .map(|l| l.len() + 2)
            .sum();
        Plan {
            filler: 0,
            stdout,
            early,
            stderr: Vec::new(),
            exit_code: 3,
            runtime,
            never_done: false,
        }
    }

    #[test]
    fn thirty_first_shell_of_a_user_gets_the_quota_fault() {
        let now = Instant::now();
        let mut s = Shells::default();
        for _ in 0..MAX_SHELLS_PER_USER {
            s.create("u", vec![], vec![], DEFAULT_IDLE_TIMEOUT, now)
                .expect("under quota");
        }
        let err = s
            .create("u", vec![], vec![], DEFAULT_IDLE_TIMEOUT, now)
            .unwrap_err();
        assert_eq!(err.wsman_code, codes::QUOTA_LIMIT);
        assert!(
            s.create("other", vec![], vec![], DEFAULT_IDLE_TIMEOUT, now)
                .is_ok()
        );
    }

    #[test]
    fn delete_frees_a_shell_and_unknown_ids_fault() {
        let now = Instant::now();
        let mut s = Shells::default();
        let id = s
            .create("u", vec![], vec![], DEFAULT_IDLE_TIMEOUT, now)
            .expect("created");
        s.delete(&id).expect("deleted");
        assert_eq!(s.delete(&id).unwrap_err().wsman_code, codes::NOT_FOUND);
        assert_eq!(
            s.receive(&id, None, 1000, now).unwrap_err().wsman_code,
            codes::NOT_FOUND
        );
    }

    #[test]
    fn create_records_the_options() {
        let now = Instant::now();
        let mut s = Shells::default();
        let opts = vec![("WINRS_CODEPAGE".to_owned(), "65001".to_owned())];
        let id = s
            .create("u", vec![], opts.clone(), DEFAULT_IDLE_TIMEOUT, now)
            .expect("created");
        assert_eq!(s.options(&id), Some(opts.as_slice()));
    }

    #[test]
    fn idle_shell_expires() {
        let now = Instant::now();
        let mut s = Shells::default();
        s.create("u", vec![], vec![], Duration::from_secs(60), now)
            .expect("created");
        s.expire(now + Duration::from_secs(59));
        assert_eq!(s.len(), 1);
        s.expire(now + Duration::from_secs(61));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn early_lines_come_before_done_and_the_rest_at_runtime() {
        let now = Instant::now();
        let mut s = Shells::default();
        let sh = s
            .create("u", vec![], vec![], DEFAULT_IDLE_TIMEOUT, now)
            .expect("created");
        let runtime = Duration::from_secs(10);
        let cmd = s
            .start(&sh, plan(&["a", "b", "c", "d"], runtime), now)
            .expect("started");
        let Poll::Ready(_, first) = s.receive(&sh, Some(&cmd), 100_000, now).expect("ok") else {
            panic!("early lines are ready at once");
        };
        assert_eq!(first.stdout.concat(), b"a\r\nb\r\n");
        assert_eq!(first.done, None);
        match s.receive(&sh, Some(&cmd), 100_000, now).expect("ok") {
            Poll::Wait(Some(at)) => assert_eq!(at, now + runtime),
            other => panic!("expected a wait, got {other:?}"),
        }
        let Poll::Ready(_, last) = s
            .receive(&sh, Some(&cmd), 100_000, now + runtime)
            .expect("ok")
        else {
            panic!("done at runtime");
        };
        assert_eq!(last.stdout.concat(), b"c\r\nd\r\n");
        assert_eq!(last.done, Some(3));
    }

    #[test]
    fn output_is_split_to_the_budget() {
        let now = Instant::now();
        let mut s = Shells::default();
        let sh = s
            .create("u", vec![], vec![], DEFAULT_IDLE_TIMEOUT, now)
            .expect("created");
        let mut p = plan(&["x"], Duration::ZERO);
        p.filler = 100_000;
        let cmd = s.start(&sh, p, now).expect("started");
        let mut got = Vec::new();
        let mut rounds = 0;
        loop {
            rounds += 1;
            let Poll::Ready(_, c) = s.receive(&sh, Some(&cmd), 30_000, now).expect("ok") else {
                panic!("never waits once finished");
            };
            assert!(c.stdout.iter().map(Vec::len).sum::<usize>() <= 30_000);
            got.extend(c.stdout.concat());
            if c.done.is_some() {
                break;
            }
        }
        assert_eq!(got.len(), 100_003);
        assert!(got.ends_with(b"x\r\n"));
        assert!(rounds >= 4);
    }

    #[test]
    fn never_done_command_keeps_waiting_after_its_early_lines() {
        let now = Instant::now();
        let mut s = Shells::default();
        let sh = s
            .create("u", vec![], vec![], DEFAULT_IDLE_TIMEOUT, now)
            .expect("created");
        let mut p = plan(&["a", "b"], Duration::ZERO);
        p.never_done = true;
        let cmd = s.start(&sh, p, now).expect("started");
        assert!(matches!(
            s.receive(&sh, Some(&cmd), 1000, now),
            Ok(Poll::Ready(..))
        ));
        assert!(matches!(
            s.receive(&sh, Some(&cmd), 1000, now + Duration::from_secs(3600)),
            Ok(Poll::Wait(None))
        ));
    }
}
