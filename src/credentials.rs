//! Credentials: a user name and a password held as a [`secrecy::SecretString`] from
//! the moment it is read until the Basic header or the NTLM context takes it.
//!
//! Owns where a password comes from (environment variable, file, no-echo prompt).
//! Knows nothing of inventories, WinRM or reports. Nothing here logs or formats a
//! password; errors name the variable or file, never its content.
//!
//! ```no_run
//! use fleetscan::credentials::{read_password, CredentialResolver, PasswordSource};
//! # fn main() -> Result<(), fleetscan::credentials::CredentialsError> {
//! let default = read_password(&PasswordSource::Env("FLEETSCAN_PASSWORD".into()))?;
//! let mut resolver = CredentialResolver::new(Some("CORP\\svc_scan".into()), default);
//! // Per host: the inventory's ansible_user / fleetscan_password_env, else the defaults.
//! let creds = resolver.resolve("web01", None, Some("WEB_PASSWORD"))?;
//! # let _ = creds; Ok(()) }
//! ```

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use secrecy::zeroize::Zeroize;

/// A user and a password. `Debug` never prints the password.
#[derive(Clone)]
pub struct Credentials {
    /// `user`, `DOMAIN\user` or `user@domain`.
    pub user: String,
    /// The password; expose it only where a protocol needs the clear text.
    pub password: SecretString,
}

impl Credentials {
    /// Pairs a user with a password.
    pub fn new(user: impl Into<String>, password: SecretString) -> Self {
        Self {
            user: user.into(),
            password,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Where the password comes from. Never the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An environment variable (`--password-env`, default `FLEETSCAN_PASSWORD`).
    Env(String),
    /// The first line of a file (`--password-file`); keep it mode 0600.
    File(PathBuf),
    /// A no-echo prompt on the terminal; only when stdin is a TTY.
    Prompt,
}

impl PasswordSource {
    /// The source the command line asks for: `--password-file` if given; else
    /// `--password-env`'s variable when it is set (even empty, so an empty one is
    /// reported) or when stdin is no terminal (so its absence is reported with how
    /// to set it); else the prompt.
    pub fn choose(password_env: &str, password_file: Option<&Path>) -> PasswordSource {
        Self::choose_with(
            password_env,
            password_file,
            &|n| std::env::var_os(n),
            std::io::stdin().is_terminal(),
        )
    }

    fn choose_with(
        password_env: &str,
        password_file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<OsString>,
        tty: bool,
    ) -> PasswordSource {
        match password_file {
            Some(path) => PasswordSource::File(path.to_owned()),
            None if env(password_env).is_some() || !tty => {
                PasswordSource::Env(password_env.to_owned())
            }
            None => PasswordSource::Prompt,
        }
    }
}

/// The largest password file read; a password file holds one short line.
const MAX_PASSWORD_FILE_BYTES: u64 = 64 * 1024;

/// Why no password could be had. Messages name the variable or file and say what to
/// do; they never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The variable is not set.
    #[error(
        "environment variable {var} is not set; export the password in it (bash: read -rs {var} && export {var}; PowerShell: $env:{var} = Read-Host -MaskInput), or use --password-file FILE"
    )]
    EnvMissing {
        /// The variable.
        var: String,
    },
    /// The variable is set but empty.
    #[error(
        "environment variable {var} is empty; put the password in it, or use --password-file FILE"
    )]
    EnvEmpty {
        /// The variable.
        var: String,
    },
    /// The variable does not hold valid Unicode.
    #[error("environment variable {var} does not hold valid UTF-8 text")]
    EnvNotUnicode {
        /// The variable.
        var: String,
    },
    /// The password file could not be read.
    #[error("cannot read password file {}: {source}; check the path and that this user may read it", path.display())]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The password file is not a short text file.
    #[error("password file {} {what}; it must hold the password on its first line", path.display())]
    FileInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong ("is empty", "is not UTF-8 text", …).
        what: &'static str,
    },
    /// A prompt was needed but stdin is not a terminal.
    #[error(
        "no password given and stdin is not a terminal, so fleetscan cannot prompt; use --password-env VAR or --password-file FILE"
    )]
    NoTerminal,
    /// The prompt failed.
    #[error("reading the password from the terminal failed: {0}")]
    Prompt(#[source] std::io::Error),
    /// The prompt got an empty line.
    #[error("the password entered is empty")]
    PromptEmpty,
    /// No user name for a host.
    #[error("no user for host '{host}'; pass -u USER or set ansible_user in the inventory")]
    NoUser {
        /// The host.
        host: String,
    },
    /// The host's own password variable is not usable.
    #[error("host '{host}' (fleetscan_password_env={var}): {source}")]
    HostPassword {
        /// The host.
        host: String,
        /// Its variable.
        var: String,
        /// Why it failed.
        #[source]
        source: Box<CredentialsError>,
    },
}

/// Reads the password from `source`.
///
/// # Errors
///
/// The variable unset or empty, the file unreadable or empty, or a prompt needed
/// without a terminal; each error says what to do.
pub fn read_password(source: &PasswordSource) -> Result<SecretString, CredentialsError> {
    read_password_with(source, &|name| std::env::var_os(name))
}

/// [`read_password`] with the environment supplied (tests cannot set variables
/// safely while other tests run).
pub(crate) fn read_password_with(
    source: &PasswordSource,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<SecretString, CredentialsError> {
    match source {
        PasswordSource::Env(var) => from_env(var, env),
        PasswordSource::File(path) => from_file(path),
        PasswordSource::Prompt => from_prompt(),
    }
}

fn from_env(
    var: &str,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<SecretString, CredentialsError> {
    let Some(value) = env(var) else {
        return Err(CredentialsError::EnvMissing {
            var: var.to_owned(),
        });
    };
    let mut value = value.into_string().map_err(|mut raw| {
        raw.zeroize_os();
        CredentialsError::EnvNotUnicode {
            var: var.to_owned(),
        }
    })?;
    if value.is_empty() {
        return Err(CredentialsError::EnvEmpty {
            var: var.to_owned(),
        });
    }
    let secret = SecretString::from(value.as_str());
    value.zeroize();
    Ok(secret)
}

/// Overwrites an `OsString` we are about to drop (best effort).
trait ZeroizeOs {
    fn zeroize_os(&mut self);
}

impl ZeroizeOs for OsString {
    fn zeroize_os(&mut self) {
        let mut bytes = std::mem::take(self).into_encoded_bytes();
        bytes.zeroize();
    }
}

fn from_file(path: &Path) -> Result<SecretString, CredentialsError> {
    let unreadable = |source| CredentialsError::FileUnreadable {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if meta.is_dir() {
        return Err(CredentialsError::FileInvalid {
            path: path.to_owned(),
            what: "is a directory",
        });
    }
    if meta.len() > MAX_PASSWORD_FILE_BYTES {
        return Err(CredentialsError::FileInvalid {
            path: path.to_owned(),
            what: "is too large to be a password file",
        });
    }
    warn_if_shared(path, &meta);
    let mut bytes = std::fs::read(path).map_err(unreadable)?;
    let result = first_line(&bytes, path);
    bytes.zeroize();
    result
}

fn first_line(bytes: &[u8], path: &Path) -> Result<SecretString, CredentialsError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| CredentialsError::FileInvalid {
        path: path.to_owned(),
        what: "is not UTF-8 text",
    })?;
    if text.is_empty() {
        return Err(CredentialsError::FileInvalid {
            path: path.to_owned(),
            what: "has an empty first line",
        });
    }
    Ok(SecretString::from(text))
}

#[cfg(unix)]
fn warn_if_shared(path: &Path, meta: &std::fs::Metadata) {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            file = %path.display(),
            mode = format_args!("{:o}", mode & 0o777),
            "password file is readable by group or others; run: chmod 600 {}",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path, _meta: &std::fs::Metadata) {}

fn from_prompt() -> Result<SecretString, CredentialsError> {
    if !std::io::stdin().is_terminal() {
        return Err(CredentialsError::NoTerminal);
    }
    let mut entered = rpassword::prompt_password("fleetscan: WinRM password: ")
        .map_err(CredentialsError::Prompt)?;
    if entered.is_empty() {
        return Err(CredentialsError::PromptEmpty);
    }
    let secret = SecretString::from(entered.as_str());
    entered.zeroize();
    Ok(secret)
}

/// Looks up an environment variable (swapped out in tests).
type EnvLookup = Box<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// The default password: read already, or read on first need.
enum Default {
    Ready(SecretString),
    Pending(PasswordSource),
}

/// Resolves each host's credentials from its inventory settings and the run's
/// defaults. A password variable is read once, however many hosts name it.
pub struct CredentialResolver {
    user: Option<String>,
    default: Default,
    by_env: HashMap<String, SecretString>,
    env: EnvLookup,
}

impl fmt::Debug for CredentialResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialResolver")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .field("env_vars_read", &self.by_env.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl CredentialResolver {
    /// Defaults already in hand: `-u USER` (if given) and the password read from
    /// `--password-env`, `--password-file` or the prompt.
    pub fn new(default_user: Option<String>, default_password: SecretString) -> Self {
        Self::build(default_user, Default::Ready(default_password))
    }

    /// Defaults whose password is read only when a host needs it, so an inventory
    /// that names a password variable for every host needs no default password.
    /// Resolve every target before the first connection: a prompt must not appear
    /// mid-scan.
    pub fn lazy(default_user: Option<String>, default_password: PasswordSource) -> Self {
        Self::build(default_user, Default::Pending(default_password))
    }

    fn build(user: Option<String>, default: Default) -> Self {
        Self {
            user,
            default,
            by_env: HashMap::new(),
            env: Box::new(|name| std::env::var_os(name)),
        }
    }

    #[cfg(test)]
    fn with_env(mut self, env: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static) -> Self {
        self.env = Box::new(env);
        self
    }

    /// The credentials for `host`: `user` and the password in `password_env` where
    /// the inventory sets them, else the defaults.
    ///
    /// # Errors
    ///
    /// No user at all, the host's password variable unset or empty, or the default
    /// password unavailable.
    pub fn resolve(
        &mut self,
        host: &str,
        user: Option<&str>,
        password_env: Option<&str>,
    ) -> Result<Credentials, CredentialsError> {
        let Some(user) = user.or(self.user.as_deref()).map(str::to_owned) else {
            return Err(CredentialsError::NoUser {
                host: host.to_owned(),
            });
        };
        let password = match password_env {
            Some(var) => {
                if let Some(p) = self.by_env.get(var) {
                    p.clone()
                } else {
                    let p =
                        from_env(var, &*self.env).map_err(|e| CredentialsError::HostPassword {
                            host: host.to_owned(),
                            var: var.to_owned(),
                            source: Box::new(e),
                        })?;
                    self.by_env.insert(var.to_owned(), p.clone());
                    p
                }
            }
            None => self.default_password()?,
        };
        Ok(Credentials::new(user, password))
    }

    fn default_password(&mut self) -> Result<SecretString, CredentialsError> {
        match &self.default {
            Default::Ready(p) => Ok(p.clone()),
            Default::Pending(source) => {
                let p = read_password_with(source, &*self.env)?;
                self.default = Default::Ready(p.clone());
                Ok(p)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use secrecy::ExposeSecret;

    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn debug_output_never_contains_the_password() {
        let c = Credentials::new("admin", secret("canary-Pa55"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("canary-Pa55"), "{shown}");
        assert!(shown.contains("[redacted]"));
        let r = CredentialResolver::new(None, secret("canary-Pa55"));
        assert!(!format!("{r:?}").contains("canary-Pa55"));
    }

    #[test]
    fn choose_prefers_file_then_set_variable_then_prompt_on_a_tty() {
        let set = |n: &str| (n == "PW").then(|| OsString::from("x"));
        let unset = |_: &str| None;
        let file = Path::new("/run/pw");
        assert_eq!(
            PasswordSource::choose_with("PW", Some(file), &set, true),
            PasswordSource::File(file.to_owned())
        );
        assert_eq!(
            PasswordSource::choose_with("PW", None, &set, true),
            PasswordSource::Env("PW".into())
        );
        assert_eq!(
            PasswordSource::choose_with("PW", None, &unset, true),
            PasswordSource::Prompt
        );
        assert_eq!(
            PasswordSource::choose_with("PW", None, &unset, false),
            PasswordSource::Env("PW".into())
        );
    }

    #[test]
    fn env_password_is_read() {
        let env = |n: &str| (n == "FS_PW").then(|| OsString::from("s3cret"));
        let p = read_password_with(&PasswordSource::Env("FS_PW".into()), &env).unwrap();
        assert_eq!(p.expose_secret(), "s3cret");
    }

    #[test]
    fn missing_env_var_names_it_and_how_to_set_it() {
        let err = read_password_with(&PasswordSource::Env("FS_PW".into()), &|_| None).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("environment variable FS_PW is not set"),
            "{msg}"
        );
        assert!(msg.contains("export FS_PW"), "{msg}");
    }

    #[test]
    fn empty_env_var_is_an_error() {
        let err = read_password_with(&PasswordSource::Env("FS_PW".into()), &|_| {
            Some(OsString::new())
        })
        .unwrap_err();
        assert!(matches!(err, CredentialsError::EnvEmpty { .. }), "{err}");
    }

    #[test]
    fn real_environment_lookup_reports_an_unset_variable() {
        let err = read_password(&PasswordSource::Env(
            "FLEETSCAN_TEST_SURELY_UNSET_5F1C".into(),
        ))
        .unwrap_err();
        assert!(matches!(err, CredentialsError::EnvMissing { .. }), "{err}");
    }

    #[test]
    fn file_password_is_first_line_without_crlf() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"\xEF\xBB\xBFpa ss\r\nsecond line\n").unwrap();
        let p = read_password(&PasswordSource::File(f.path().to_owned())).unwrap();
        assert_eq!(p.expose_secret(), "pa ss");
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_password_file_warns_without_showing_the_password() {
        use std::os::unix::fs::PermissionsExt;
        use std::sync::Mutex;

        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .map_err(|_| std::io::Error::other("poisoned"))?
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"canary-Pa55\n").unwrap();
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let p = tracing::subscriber::with_default(subscriber, || {
            read_password(&PasswordSource::File(f.path().to_owned())).unwrap()
        });
        assert_eq!(p.expose_secret(), "canary-Pa55");
        let logged = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("chmod 600"), "{logged}");
        assert!(!logged.contains("canary-Pa55"), "{logged}");

        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            read_password(&PasswordSource::File(f.path().to_owned())).unwrap()
        });
        assert!(buf.0.lock().unwrap().is_empty(), "no warning for mode 600");
    }

    #[test]
    fn file_without_newline_is_read_whole() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"only").unwrap();
        let p = read_password(&PasswordSource::File(f.path().to_owned())).unwrap();
        assert_eq!(p.expose_secret(), "only");
    }

    #[test]
    fn empty_file_is_an_error_naming_it() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let err = read_password(&PasswordSource::File(f.path().to_owned())).unwrap_err();
        assert!(
            err.to_string().contains(&f.path().display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn unreadable_file_names_it() {
        let path = PathBuf::from("/nonexistent/fleetscan/pw.txt");
        let err = read_password(&PasswordSource::File(path)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read password file /nonexistent/fleetscan/pw.txt"),
            "{err}"
        );
    }

    #[test]
    fn prompt_without_a_terminal_points_to_env_and_file() {
        // Test runners give the tests no terminal on stdin (cargo test captures it
        // or it is /dev/null in CI); only check the message when that holds.
        if std::io::stdin().is_terminal() {
            return;
        }
        let err = read_password(&PasswordSource::Prompt).unwrap_err();
        assert!(
            err.to_string()
                .contains("--password-env VAR or --password-file FILE"),
            "{err}"
        );
    }

    #[test]
    fn resolver_uses_host_user_and_env_and_reads_each_var_once() {
        let reads = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&reads);
        let mut r = CredentialResolver::new(Some("CORP\\scan".into()), secret("default")).with_env(
            move |n| {
                counter.fetch_add(1, Ordering::SeqCst);
                (n == "WEB_PW").then(|| OsString::from("webpw"))
            },
        );
        let a = r.resolve("web01", None, Some("WEB_PW")).unwrap();
        let b = r
            .resolve("web02", Some("local\\admin"), Some("WEB_PW"))
            .unwrap();
        let c = r.resolve("dc01", None, None).unwrap();
        assert_eq!(
            (a.user.as_str(), a.password.expose_secret()),
            ("CORP\\scan", "webpw")
        );
        assert_eq!(
            (b.user.as_str(), b.password.expose_secret()),
            ("local\\admin", "webpw")
        );
        assert_eq!(c.password.expose_secret(), "default");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn resolver_error_names_host_and_variable() {
        let mut r = CredentialResolver::new(Some("u".into()), secret("d")).with_env(|_| None);
        let err = r
            .resolve("web01", None, Some("WEB_PW"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("host 'web01' (fleetscan_password_env=WEB_PW): environment variable WEB_PW is not set"), "{err}");
    }

    #[test]
    fn resolver_without_any_user_says_how_to_give_one() {
        let mut r = CredentialResolver::new(None, secret("d"));
        let err = r.resolve("web01", None, None).unwrap_err().to_string();
        assert!(err.contains("pass -u USER or set ansible_user"), "{err}");
    }

    #[test]
    fn lazy_default_is_read_only_when_needed() {
        let reads = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&reads);
        let mut r = CredentialResolver::lazy(
            Some("u".into()),
            PasswordSource::Env("FLEETSCAN_PASSWORD".into()),
        )
        .with_env(move |n| {
            counter.fetch_add(1, Ordering::SeqCst);
            match n {
                "WEB_PW" => Some(OsString::from("w")),
                "FLEETSCAN_PASSWORD" => Some(OsString::from("d")),
                _ => None,
            }
        });
        r.resolve("web01", None, Some("WEB_PW")).unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(
            r.resolve("dc01", None, None)
                .unwrap()
                .password
                .expose_secret(),
            "d"
        );
        r.resolve("dc02", None, None).unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
