//! A real SMTP server process on loopback (tests/support/smtp_server.py):
//! accepted messages land in a temporary directory; `later@` recipients get
//! 451 and `never@` recipients 550.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The server process; killed when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server and waits for its port.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let script = crate::workspace_root().join("tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stdin(Stdio::piped())
            .spawn()
            .expect("python3 runs the test SMTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("port line {line:?}"));
        Server { child, port, dir }
    }

    /// Settings of a mail outbox that delivers here: no TLS, no login, from
    /// `help@example.com`, 3 attempts 1 s apart.
    pub fn config(&self) -> tocsin::mail::SmtpConfig {
        tocsin::mail::SmtpConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            security: tocsin::mail::Security::None,
            username: None,
            password: None,
            from: "help@example.com".into(),
            timeout_ms: 10_000,
            max_attempts: 3,
            backoff_ms: 1_000,
        }
    }

    /// Every message received, in order.
    pub fn received(&self) -> Vec<String> {
        (1..)
            .map(|n| self.dir.path().join(format!("{n}.eml")))
            .take_while(|p| p.exists())
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}
