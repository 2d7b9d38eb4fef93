//! A throwaway PostgreSQL cluster for the tests that need one: `initdb` and `pg_ctl` from the
//! Debian `postgresql` package in a temporary directory, listening on a Unix socket there and a
//! random port, run as the `postgres` user when the tests run as root (initdb refuses root).
//! Stopped (immediate mode) and removed when dropped. [`Postgres::start_tls`] starts one with
//! `ssl = on` and a certificate for `localhost` and 127.0.0.1 signed by a CA of its own, made
//! with the `openssl` command in the same directory.
//!
//! A test that needs PostgreSQL never skips silently: without the binaries it fails, saying how
//! to install them, unless `OPSDECK_NO_POSTGRES=1` is set, and then it says loudly that it skips.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
    /// The CA that signed the server's certificate, for a cluster with TLS on.
    ca: Option<PathBuf>,
}

/// The newest installed server's `bin` directory.
fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

impl Postgres {
    /// A cluster for this test, or `None` (said loudly) when `OPSDECK_NO_POSTGRES=1`. Tests
    /// run it without fsync (a test's data need not survive the machine).
    pub fn start() -> Option<Postgres> {
        Postgres::start_with(false, false)
    }

    /// A cluster that syncs its writes to disk as a production one does (benches that count
    /// durable commits).
    pub fn start_durable() -> Option<Postgres> {
        Postgres::start_with(true, false)
    }

    /// A cluster with TLS on (`ssl = on`), its certificate for `localhost` and 127.0.0.1 signed
    /// by the CA in [`Postgres::ca_file`]. It also listens on 127.0.0.2, a host its certificate
    /// does not name.
    pub fn start_tls() -> Option<Postgres> {
        Postgres::start_with(false, true)
    }

    fn start_with(durable: bool, tls: bool) -> Option<Postgres> {
        if std::env::var("OPSDECK_NO_POSTGRES").as_deref() == Ok("1") {
            eprintln!(
                "SKIPPED: OPSDECK_NO_POSTGRES=1 is set, so this PostgreSQL test does not run"
            );
            return None;
        }
        let bin = binaries().unwrap_or_else(|| {
            panic!(
                "this test needs PostgreSQL's initdb and pg_ctl (apt-get install -y postgresql), or OPSDECK_NO_POSTGRES=1 to skip it"
            )
        });
        let dir = tempfile::tempdir().expect("a temporary directory");
        let as_postgres = is_root();
        let mut pg = Postgres {
            port: super::ports::free_port(),
            dir,
            bin,
            as_postgres,
            ca: None,
        };
        std::fs::create_dir(pg.data()).expect("the data directory");
        if as_postgres {
            // The server runs as postgres: it must reach its directory and own its data.
            chmod(pg.dir.path(), "755");
            let owner = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.data())
                .status()
                .expect("chown runs");
            assert!(owner.success(), "chown of the data directory failed");
        }
        let init = pg.run(
            "initdb",
            &[
                "-D",
                pg.data().to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(init.status.success(), "initdb failed: {}", text(&init));
        let mut options = format!(
            "-p {} -k {} -c max_connections=200{}",
            pg.port,
            pg.data().display(),
            if durable { "" } else { " -c fsync=off" }
        );
        if tls {
            let (ca, cert, key) = pg.certificates();
            options.push_str(&format!(
                " -c listen_addresses=127.0.0.1,127.0.0.2 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            ));
            pg.ca = Some(ca);
        } else {
            options.push_str(" -c listen_addresses=127.0.0.1");
        }
        let started = pg.run(
            "pg_ctl",
            &[
                "-D",
                pg.data().to_str().unwrap(),
                "-o",
                &options,
                "-l",
                pg.data().join("server.log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        assert!(
            started.status.success(),
            "pg_ctl start failed: {}\n{}",
            text(&started),
            std::fs::read_to_string(pg.data().join("server.log")).unwrap_or_default()
        );
        Some(pg)
    }

    /// One cluster for the whole test process, started on first use: tests take databases of
    /// their own in it ([`Postgres::database`]). A watchdog process stops it and removes its
    /// directory once the test process has exited (a static is never dropped).
    pub fn shared() -> Option<&'static Postgres> {
        static SHARED: std::sync::OnceLock<Option<Postgres>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| Postgres::start().map(Postgres::watched))
            .as_ref()
    }

    /// [`Postgres::shared`] with TLS on ([`Postgres::start_tls`]).
    pub fn shared_tls() -> Option<&'static Postgres> {
        static SHARED: std::sync::OnceLock<Option<Postgres>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| Postgres::start_tls().map(Postgres::watched))
            .as_ref()
    }

    /// The cluster, with a watchdog process that stops it and removes its directory once the
    /// test process has exited.
    fn watched(pg: Postgres) -> Postgres {
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runuser}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            runuser = if pg.as_postgres {
                "runuser -u postgres -- "
            } else {
                ""
            },
            pg_ctl = pg.bin.join("pg_ctl").display(),
            data = pg.data().display(),
            dir = pg.dir.path().display(),
        );
        // It outlives this process by design: it is what stops the cluster after it.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &stop])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the cluster's watchdog starts");
        pg
    }

    /// A new database named `name`, a copy of `template` when given (PostgreSQL copies its
    /// files: a seeded store for every test without seeding it again); its URL.
    pub fn database(&self, name: &str, template: Option<&str>) -> String {
        let from = template
            .map(|t| format!(" TEMPLATE \"{t}\""))
            .unwrap_or_default();
        // The template's last connections may still be closing: PostgreSQL refuses to copy a
        // database others are connected to, so this asks again for a while.
        let create = format!("CREATE DATABASE \"{name}\"{from}");
        for _ in 0..50 {
            if self.try_psql(&create).is_ok() {
                return format!("postgres://postgres@127.0.0.1:{}/{name}", self.port);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.psql(&create);
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The CA certificate (PEM) that signed a TLS cluster's certificate.
    pub fn ca_file(&self) -> &Path {
        self.ca
            .as_deref()
            .expect("a cluster started with start_tls")
    }

    /// Where a TLS cluster's CA, certificate and key are (`server.key`: a PEM file that holds
    /// no certificate).
    pub fn tls_dir(&self) -> PathBuf {
        self.dir.path().join("tls")
    }

    /// A CA, and a certificate for `localhost` and 127.0.0.1 it signs, made with `openssl` in
    /// the cluster's directory: the CA's file, the server's certificate and key. The server
    /// (the postgres user when run as root) owns the key, mode 0600, as PostgreSQL demands.
    fn certificates(&self) -> (PathBuf, PathBuf, PathBuf) {
        let dir = self.tls_dir();
        std::fs::create_dir(&dir).expect("the TLS directory");
        let at = |name: &str| dir.join(name).to_str().unwrap().to_string();
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName = DNS:localhost, IP:127.0.0.1\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n",
        )
        .expect("the certificate's extensions");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl runs (apt-get install -y openssl)");
            assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
        };
        openssl(
            &[
                &["req", "-x509", "-nodes", "-days", "2"][..],
                &ec,
                &["-subj", "/CN=opsdeck test CA", "-keyout", &at("ca.key")],
                &["-out", &at("ca.pem")],
                &["-addext", "basicConstraints=critical,CA:TRUE"],
                &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req", "-new", "-nodes"][..],
                &ec,
                &["-subj", "/CN=localhost", "-keyout", &at("server.key")],
                &["-out", &at("server.csr")],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            &at("server.csr"),
            "-CA",
            &at("ca.pem"),
            "-CAkey",
            &at("ca.key"),
            "-CAcreateserial",
            "-extfile",
            &at("server.ext"),
            "-out",
            &at("server.pem"),
        ]);
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        chmod(&key, "600");
        if self.as_postgres {
            chmod(&dir, "755");
            let owner = Command::new("chown")
                .arg("postgres:postgres")
                .args([&cert, &key])
                .status()
                .expect("chown runs");
            assert!(owner.success(), "chown of the server's certificate failed");
        }
        (dir.join("ca.pem"), cert, key)
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args).output().expect("a PostgreSQL binary runs")
    }

    /// A connection URL for the `postgres` database over TCP on loopback.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs one SQL statement with psql and gives its unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql)
            .unwrap_or_else(|e| panic!("psql failed: {e}"))
    }

    /// [`Self::psql`] in the database `db`.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        self.try_psql_in(db, sql)
            .unwrap_or_else(|e| panic!("psql failed: {e}"))
    }

    /// [`Self::psql`], its failure as psql's words.
    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        self.try_psql_in("postgres", sql)
    }

    fn try_psql_in(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = self.run(
            "psql",
            &[
                "-h",
                self.data().to_str().unwrap(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-At",
                "-c",
                sql,
            ],
        );
        if !out.status.success() {
            return Err(text(&out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }
}

fn chmod(path: &Path, mode: &str) {
    let _ = Command::new("chmod").arg(mode).arg(path).status();
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
