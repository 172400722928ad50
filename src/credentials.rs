//! Credentials: a user name and a password held as a [`secrecy::SecretString`] from
//! the moment it is read until the Basic header or the NTLM context takes it.
//!
//! Owns where a password comes from (environment variable, file, no-echo prompt).
//! Knows nothing of inventories, WinRM or reports.

use std::fmt;

use secrecy::SecretString;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_password() {
        let c = Credentials::new("admin", SecretString::from("canary-Pa55".to_owned()));
        let shown = format!("{c:?}");
        assert!(!shown.contains("canary-Pa55"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
