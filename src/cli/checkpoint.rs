//! Signed checkpoints of the audit chain: `audit checkpoint`, `audit verify --checkpoint`, and
//! the periodic writer that `serve` and the embedded console run (`[audit] checkpoint_every`).
//!
//! A checkpoint is the chain head (`seq`, `hash`) and the time it was taken (`at`), signed with
//! Ed25519. The signature is over these canonical bytes, UTF-8, each line ended by `\n`:
//!
//! ```text
//! opsdeck-audit-checkpoint/1
//! seq=<seq in decimal>
//! hash=<the record's hash, 64 lowercase hex digits>
//! at=<RFC 3339 in UTC with milliseconds, e.g. 2026-11-20T10:00:00.123Z>
//! ```
//!
//! The file is JSON: `{"format", "seq", "hash", "at", "public_key", "signature"}`, the key
//! (32 bytes) and the signature (64 bytes) in lowercase hex. The signing key lives in the
//! config directory as `audit-signing.key` (the 32-byte secret in hex, mode 0600, made on first
//! use), its public key beside it as `audit-signing.pub`. A checkpoint kept anywhere an
//! attacker on the store's machine cannot rewrite makes a cut or rewritten trail detectable,
//! even one whose high-water mark was rewritten too.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::context::{Context, config_location, store_path};
use super::error::CliError;
use super::output::emit_one;
use crate::model::Timestamp;
use crate::model::audit::millis;
use crate::store::{Store, Verification};
use crate::text::SafeText;

pub const FORMAT: &str = "opsdeck-audit-checkpoint/1";
const KEY_FILE: &str = "audit-signing.key";
const PUBLIC_FILE: &str = "audit-signing.pub";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub format: String,
    pub seq: u64,
    pub hash: String,
    pub at: String,
    pub public_key: String,
    pub signature: String,
}

/// The bytes a checkpoint's signature covers (see the module's documentation).
fn message(seq: u64, hash: &str, at: &str) -> Vec<u8> {
    format!("{FORMAT}\nseq={seq}\nhash={hash}\nat={at}\n").into_bytes()
}

impl Checkpoint {
    pub fn sign(key: &SigningKey, seq: u64, hash: &str, at: Timestamp) -> Checkpoint {
        let at = millis::format(&at);
        let signature = key.sign(&message(seq, hash, &at));
        Checkpoint {
            format: FORMAT.into(),
            seq,
            hash: hash.to_string(),
            at,
            public_key: hex::encode(key.verifying_key().as_bytes()),
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Whether `trusted` signed this checkpoint as it is; refused (exit 3) otherwise.
    pub fn check(&self, trusted: &VerifyingKey) -> Result<(), CliError> {
        if self.format != FORMAT {
            return Err(CliError::Usage(format!(
                "the checkpoint's format is {:?}, not {FORMAT:?}",
                SafeText::new(&self.format).as_str()
            )));
        }
        let trusted_hex = hex::encode(trusted.as_bytes());
        if !self.public_key.eq_ignore_ascii_case(&trusted_hex) {
            return Err(CliError::Refused(format!(
                "the checkpoint is signed by an unknown key ({}), not the trusted key ({}): refused; pass --public-key with the key that signed it if you trust it",
                fingerprint(&self.public_key),
                fingerprint(&trusted_hex)
            )));
        }
        let forged = || {
            CliError::Refused(
                "the checkpoint's signature does not verify: it was altered or forged; refused"
                    .into(),
            )
        };
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(forged)?;
        trusted
            .verify_strict(
                &message(self.seq, &self.hash, &self.at),
                &Signature::from_bytes(&bytes),
            )
            .map_err(|_| forged())
    }
}

/// A key as people compare it: its first 16 hex digits (made safe to show).
fn fingerprint(hex_key: &str) -> String {
    let shown: String = hex_key.chars().take(16).collect();
    SafeText::new(&shown).as_str().to_string()
}

/// The config directory: where the config file is (or would be).
fn config_dir(ctx: &Context) -> Result<PathBuf, CliError> {
    let (file, _) = config_location(&ctx.global)?;
    Ok(file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".")))
}

fn key_error(path: &Path, why: impl std::fmt::Display) -> CliError {
    CliError::Runtime(format!("audit signing key {}: {why}", path.display()))
}

/// The signing key in `dir`, made (0600, with its public key beside it) on first use.
pub fn signing_key(dir: &Path) -> Result<SigningKey, CliError> {
    let path = dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            check_private(&path)?;
            let bytes: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| key_error(&path, "not 64 hex digits"))?;
            let key = SigningKey::from_bytes(&bytes);
            let public = dir.join(PUBLIC_FILE);
            if !public.exists() {
                write_public(&public, &key)?;
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(dir, &path),
        Err(e) => Err(key_error(&path, e)),
    }
}

fn create_key(dir: &Path, path: &Path) -> Result<SigningKey, CliError> {
    std::fs::create_dir_all(dir).map_err(|e| key_error(path, e))?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| key_error(path, e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            writeln!(file, "{}", hex::encode(secret))
                .and_then(|_| file.sync_all())
                .map_err(|e| key_error(path, e))?;
        }
        // Another process made it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return signing_key(dir),
        Err(e) => return Err(key_error(path, e)),
    }
    let key = SigningKey::from_bytes(&secret);
    write_public(&dir.join(PUBLIC_FILE), &key)?;
    Ok(key)
}

fn write_public(path: &Path, key: &SigningKey) -> Result<(), CliError> {
    std::fs::write(
        path,
        format!("{}\n", hex::encode(key.verifying_key().as_bytes())),
    )
    .map_err(|e| key_error(path, e))
}

/// A signing key others can read is no longer only this operator's.
fn check_private(path: &Path) -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| key_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(key_error(
                path,
                format!(
                    "other users may read it (mode {:o}); run chmod 600 on it",
                    mode & 0o777
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn read_public(path: &Path) -> Result<VerifyingKey, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read public key {}: {e}", path.display())))?;
    hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{} is not an Ed25519 public key (64 hex digits)",
                path.display()
            ))
        })
}

/// The key a checkpoint must be signed by: `--public-key`, else the config directory's.
fn trusted_key(ctx: &Context, public_key: Option<&Path>) -> Result<VerifyingKey, CliError> {
    if let Some(path) = public_key {
        return read_public(path);
    }
    let dir = config_dir(ctx)?;
    let public = dir.join(PUBLIC_FILE);
    if public.exists() {
        return read_public(&public);
    }
    if dir.join(KEY_FILE).exists() {
        return Ok(signing_key(&dir)?.verifying_key());
    }
    Err(CliError::Usage(format!(
        "no key to check the checkpoint against: {} does not exist; pass --public-key FILE",
        public.display()
    )))
}

/// Where scheduled (and copies of on-demand) checkpoints go.
fn checkpoint_dir(ctx: &Context) -> Result<PathBuf, CliError> {
    Ok(match ctx.config.audit.checkpoint_dir.as_str() {
        "" => config_dir(ctx)?.join("audit-checkpoints"),
        dir => PathBuf::from(dir),
    })
}

/// Signs the trail's last stored record now.
fn take(store: &Store, key: &SigningKey) -> Result<Checkpoint, CliError> {
    let (seq, hash) = store.audit_last_stored()?;
    let at = crate::model::truncate(chrono::Utc::now());
    Ok(Checkpoint::sign(key, seq, &hash, at))
}

/// Writes `checkpoint` as a new file in `dir`, named after its seq and time.
fn keep(dir: &Path, checkpoint: &Checkpoint) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Runtime(format!("cannot create {}: {e}", dir.display())))?;
    let stamp: String = checkpoint
        .at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let path = dir.join(format!("checkpoint-{:012}-{stamp}.json", checkpoint.seq));
    let json = serde_json::to_string_pretty(checkpoint).expect("a checkpoint serialises");
    std::fs::write(&path, json + "\n")
        .map_err(|e| CliError::Runtime(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// `audit checkpoint [--output-file F]`.
pub fn checkpoint(ctx: &Context, output_file: Option<&Path>) -> Result<(), CliError> {
    ctx.require_local("audit checkpoint")?;
    let store = ctx.existing_store()?;
    let key = signing_key(&config_dir(ctx)?)?;
    let cp = take(&store, &key)?;
    let kept = keep(&checkpoint_dir(ctx)?, &cp)?;
    let json = serde_json::to_string_pretty(&cp).expect("a checkpoint serialises") + "\n";
    match output_file {
        Some(path) => {
            std::fs::write(path, &json)
                .map_err(|e| CliError::Runtime(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "opsdeck: checkpoint of seq {} written to {} (a copy in {})",
                cp.seq,
                path.display(),
                kept.display()
            );
        }
        None => {
            std::io::stdout().lock().write_all(json.as_bytes())?;
        }
    }
    Ok(())
}

/// What `audit verify --checkpoint` found.
#[derive(Serialize)]
struct Checked<'a> {
    checkpoint: &'a Checkpoint,
    verification: &'a Verification,
    /// The tampering found, if any.
    tampering: Option<String>,
}

/// `audit verify --checkpoint FILE [--public-key FILE]`: the signature first, then that the
/// trail still holds the checkpoint's seq with its hash, then the chain.
pub fn verify(
    ctx: &Context,
    store: &Store,
    file: &Path,
    public_key: Option<&Path>,
) -> Result<(), CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
    let cp: Checkpoint = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{} is not an opsdeck checkpoint: {}",
            file.display(),
            SafeText::new(&e.to_string()).as_str()
        ))
    })?;
    cp.check(&trusted_key(ctx, public_key)?)?;
    let v = store.verify_audit()?;
    let (last, _) = store.audit_last_stored()?;
    let tampering = if last < cp.seq {
        Some(format!(
            "the checkpoint names seq {} but the trail ends at {last}: records were cut off",
            cp.seq
        ))
    } else {
        match store.audit_hash_at(cp.seq)? {
            None if cp.seq > 0 => Some(format!(
                "the checkpoint names seq {} but the trail has no record there: records were removed",
                cp.seq
            )),
            Some(hash) if hash != cp.hash => Some(format!(
                "the record at seq {} no longer has the checkpoint's hash: the trail was rewritten",
                cp.seq
            )),
            _ => v
                .first_bad
                .as_ref()
                .map(|bad| format!("audit chain BROKEN at seq {}: {}", bad.seq, bad.reason)),
        }
    };
    let report = Checked {
        checkpoint: &cp,
        verification: &v,
        tampering: tampering.clone(),
    };
    emit_one(ctx.format(), &report, || match &tampering {
        Some(why) => format!("TAMPERING against checkpoint {}: {why}", file.display()),
        None => format!(
            "checkpoint seq {} (signed {} by key {}) holds: audit chain intact, {} records verified",
            cp.seq,
            cp.at,
            fingerprint(&cp.public_key),
            v.verified
        ),
    })?;
    match tampering {
        Some(why) => Err(CliError::Runtime(format!(
            "audit verification against {} failed: {why}; restore the store from a backup and compare",
            file.display()
        ))),
        None => Ok(()),
    }
}

/// Writes a checkpoint every `[audit] checkpoint_every` on a thread of its own, until dropped.
pub struct Schedule {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Schedule {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the periodic writer when the config asks for one and the store is a file; the key
/// is loaded (or made) now, so a problem with it stops the start.
pub fn schedule(ctx: &Context) -> Result<Option<Schedule>, CliError> {
    let every = ctx.config.audit.checkpoint_every;
    if every <= chrono::Duration::zero() {
        return Ok(None);
    }
    if ctx.global.ephemeral {
        eprintln!("opsdeck: no audit checkpoints for an in-memory store");
        return Ok(None);
    }
    let key = signing_key(&config_dir(ctx)?)?;
    let dir = checkpoint_dir(ctx)?;
    let path = store_path(&ctx.global, &ctx.config)?;
    let every = every
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(3600));
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("audit-checkpoints".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every)
            {
                let written = Store::open(&path)
                    .map_err(CliError::from)
                    .and_then(|store| take(&store, &key))
                    .and_then(|cp| keep(&dir, &cp));
                match written {
                    Ok(file) => tracing::info!("audit checkpoint written to {}", file.display()),
                    Err(e) => tracing::warn!("audit checkpoint not written: {e}"),
                }
            }
        })
        .map_err(|e| CliError::Runtime(format!("cannot start the checkpoint writer: {e}")))?;
    Ok(Some(Schedule {
        stop: Some(stop),
        thread: Some(thread),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_checks_and_any_change_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00.123Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let cp = Checkpoint::sign(&key, 42, &"a".repeat(64), at);
        cp.check(&key.verifying_key()).unwrap();
        for change in [
            Box::new(|c: &mut Checkpoint| c.seq = 41) as Box<dyn Fn(&mut Checkpoint)>,
            Box::new(|c| c.hash = "b".repeat(64)),
            Box::new(|c| c.at = "2026-11-20T10:00:00.124Z".into()),
            Box::new(|c| c.signature = "00".repeat(64)),
            Box::new(|c| c.signature = "zz".into()),
        ] {
            let mut forged = cp.clone();
            change(&mut forged);
            assert!(matches!(
                forged.check(&key.verifying_key()),
                Err(CliError::Refused(_))
            ));
        }
        let other = SigningKey::from_bytes(&[8; 32]);
        let err = cp.check(&other.verifying_key()).unwrap_err().to_string();
        assert!(err.contains("unknown key"), "{err}");
        assert_eq!(
            message(42, "h", "t"),
            b"opsdeck-audit-checkpoint/1\nseq=42\nhash=h\nat=t\n"
        );
    }
}
