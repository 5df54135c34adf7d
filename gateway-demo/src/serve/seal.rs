//! Sealed session ids: what a replica needs to continue an MCP session travels in the session
//! id itself, encrypted and authenticated, so several gateways behind a load balancer serve one
//! session without a shared store, and a client can neither read nor forge an id.
//!
//! An id is `base64url(nonce ‖ XChaCha20-Poly1305(plaintext))` without padding (visible ASCII,
//! as the spec requires of session ids). The nonce is 24 random bytes: with XChaCha's nonce
//! size random nonces never collide in practice, so no counter has to be shared between
//! replicas. The plaintext is
//!
//! ```text
//! version (1 byte) ‖ kind (1 byte: 1 HTTP, 2 stdio) ‖ minted (u64 BE, Unix seconds)
//!   ‖ owner length (u16 BE) ‖ owner ‖ upstream id
//! ```
//!
//! where the owner is who opened the session under the OAuth2 plan (issuer and user; empty
//! without it), so every replica binds the session to the same user.
//!
//! and the associated data names the API, so an id sealed for one API does not open on
//! another. The negotiated protocol revision is not carried: the engine only needs it for a
//! request without `MCP-Protocol-Version` (sent on every request after `initialize` since
//! 2025-06-18; a 2025-03-26 client omits it, and 2025-03-26 is what the engine then assumes)
//! and to tell a stateless 2026-07-28 exchange apart (which has no sessions). It could not be
//! carried anyway: the id goes out in the headers of `initialize`'s answer, before the body
//! that negotiates the revision has been read.
//!
//! Keys come from files the operator names (`[sessions] key_files`, the first seals, all open),
//! or, without them, from one random key per process: then ids only open in the process that
//! minted them, which is what a single gateway needs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Bytes of a key.
pub(crate) const KEY_LEN: usize = 32;
/// The plaintext layout written by this gateway; an id of another layout does not open.
const VERSION: u8 = 1;
/// XChaCha20's nonce: long enough to be drawn at random by every replica without a counter.
const NONCE_LEN: usize = 24;
/// Poly1305's tag.
const TAG_LEN: usize = 16;
/// Version, kind, mint time and owner length, before the owner and the upstream id.
const HEAD_LEN: usize = 1 + 1 + 8 + 2;
/// Kind of a session bound to an HTTP backend's session id.
const KIND_HTTP: u8 = 1;
/// Kind of a session bound to a stdio process.
const KIND_STDIO: u8 = 2;
/// Prefix of the associated data: an id is only valid as a session id of this gateway.
const AD_PREFIX: &[u8] = b"mcp-policy session id\0";

/// What a session is bound to, as far as another replica can know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The session id an HTTP backend handed out: any replica can send it there.
    Http(String),
    /// A stdio process, which lives in the replica that started it.
    Stdio,
}

/// What an opened id says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    /// What the session is bound to.
    pub(crate) bound: Bound,
    /// When the id was minted (Unix seconds), for the logs.
    pub(crate) minted: u64,
    /// Who opened the session (OAuth2 plan), if anyone.
    pub(crate) owner: Option<String>,
}

/// The keys of this gateway: the first seals, every one opens.
pub(crate) struct Keyring {
    ciphers: Vec<XChaCha20Poly1305>,
    shared: bool,
    generation: u64,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key material.
        f.debug_struct("Keyring")
            .field("keys", &self.ciphers.len())
            .field("shared", &self.shared)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Keyring {
    /// A keyring of the given keys; `shared` says whether other processes hold them too.
    pub(crate) fn from_keys(keys: &[[u8; KEY_LEN]], shared: bool) -> Self {
        // Never 0: a session not yet checked against any keyring holds 0.
        static GENERATIONS: AtomicU64 = AtomicU64::new(1);
        Self {
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
            ciphers: keys
                .iter()
                .map(|k| XChaCha20Poly1305::new(&(*k).into()))
                .collect(),
            shared,
        }
    }

    /// The keyring of the operator's key files, first one sealing.
    pub(crate) fn from_files(paths: &[PathBuf]) -> Result<Self, String> {
        if paths.is_empty() {
            return Err(
                "[sessions] key_files is empty: name at least one key file (the first \
                        seals new session ids; make one with `mcp-policy keygen FILE`)"
                    .to_owned(),
            );
        }
        let keys = paths
            .iter()
            .map(|p| read_key_file(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_keys(&keys, true))
    }

    /// This process's own random key, made once: kept across reloads so that the sessions of
    /// a gateway without key files survive them.
    pub(crate) fn process() -> Result<Arc<Self>, String> {
        static PROCESS: OnceLock<Arc<Keyring>> = OnceLock::new();
        if let Some(k) = PROCESS.get() {
            return Ok(k.clone());
        }
        let key = generate_key()?;
        Ok(PROCESS
            .get_or_init(|| Arc::new(Self::from_keys(&[key], false)))
            .clone())
    }

    /// Whether other gateways hold these keys (key files): then an id this process has not
    /// seen may be a session another replica minted, and one it forgets may be alive there.
    pub(crate) fn shared(&self) -> bool {
        self.shared
    }

    /// Tells keyrings apart (each load of the key files makes a new one), so a cached session
    /// is checked once against each, not on every request.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Seals a new session id for `api`.
    pub(crate) fn seal(
        &self,
        api: &str,
        bound: &Bound,
        owner: Option<&str>,
    ) -> Result<String, String> {
        let cipher = self
            .ciphers
            .first()
            .ok_or_else(|| "no session key to seal with".to_owned())?;
        let minted = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let upstream = match bound {
            Bound::Http(up) => up.as_bytes(),
            Bound::Stdio => &[],
        };
        let owner = owner.unwrap_or("").as_bytes();
        let owner_len = u16::try_from(owner.len())
            .map_err(|_| format!("the session owner is {} bytes long", owner.len()))?;
        let mut plain = Vec::with_capacity(HEAD_LEN + owner.len() + upstream.len());
        plain.push(VERSION);
        plain.push(match bound {
            Bound::Http(_) => KIND_HTTP,
            Bound::Stdio => KIND_STDIO,
        });
        plain.extend_from_slice(&minted.to_be_bytes());
        plain.extend_from_slice(&owner_len.to_be_bytes());
        plain.extend_from_slice(owner);
        plain.extend_from_slice(upstream);
        let mut nonce = [0u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| format!("no random nonce for a session id: {e}"))?;
        let aad = associated_data(api);
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: &aad,
                },
            )
            .map_err(|_| "cannot seal the session id".to_owned())?;
        let mut wire = Vec::with_capacity(NONCE_LEN + sealed.len());
        wire.extend_from_slice(&nonce);
        wire.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(wire))
    }

    /// Opens an id presented on `api`: `None` for anything not sealed by one of these keys for
    /// this API (tampered, another key, another API, another layout, garbage).
    pub(crate) fn open(&self, api: &str, id: &str) -> Option<Claims> {
        let wire = URL_SAFE_NO_PAD.decode(id).ok()?;
        if wire.len() < NONCE_LEN + HEAD_LEN + TAG_LEN {
            return None;
        }
        let (nonce, sealed) = wire.split_at(NONCE_LEN);
        let nonce = XNonce::from(<[u8; NONCE_LEN]>::try_from(nonce).ok()?);
        let aad = associated_data(api);
        let plain = self.ciphers.iter().find_map(|c| {
            c.decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .ok()
        })?;
        let (head, rest) = plain.split_at_checked(HEAD_LEN)?;
        let [version, kind, rest_head @ ..] = head else {
            return None;
        };
        if *version != VERSION {
            return None;
        }
        let (minted, owner_len) = rest_head.split_at_checked(8)?;
        let minted = u64::from_be_bytes(minted.try_into().ok()?);
        let owner_len = usize::from(u16::from_be_bytes(owner_len.try_into().ok()?));
        let (owner, upstream) = rest.split_at_checked(owner_len)?;
        let owner = match owner {
            [] => None,
            o => Some(String::from_utf8(o.to_vec()).ok()?),
        };
        let bound = match *kind {
            KIND_HTTP => Bound::Http(String::from_utf8(upstream.to_vec()).ok()?),
            KIND_STDIO => Bound::Stdio,
            _ => return None,
        };
        Some(Claims {
            bound,
            minted,
            owner,
        })
    }
}

/// What an id is bound to besides its plaintext: this gateway's ids, of this API.
fn associated_data(api: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AD_PREFIX.len() + api.len());
    aad.extend_from_slice(AD_PREFIX);
    aad.extend_from_slice(api.as_bytes());
    aad
}

/// A fresh random key.
pub(crate) fn generate_key() -> Result<[u8; KEY_LEN], String> {
    let mut key = [0u8; KEY_LEN];
    OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| format!("the system's random source failed: {e}"))?;
    Ok(key)
}

/// Reads a key file: the base64 (standard alphabet, padding optional) of 32 bytes, surrounding
/// whitespace ignored.
pub(crate) fn read_key_file(path: &Path) -> Result<[u8; KEY_LEN], String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "session key file {shown}: cannot read it ({e}); make one with `mcp-policy keygen \
             {shown}` and give every replica the same file"
        )
    })?;
    let text = text.trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|e| {
            format!(
                "session key file {shown} is not base64 ({e}); it must hold one 32-byte key as \
                 `mcp-policy keygen` writes it"
            )
        })?;
    bytes.as_slice().try_into().map_err(|_| {
        format!(
            "session key file {shown} holds {} bytes, a session key has {KEY_LEN}; make one \
             with `mcp-policy keygen FILE`",
            bytes.len()
        )
    })
}

/// Writes a new random key to `path`, readable by its owner only. An existing file is only
/// replaced with `force`: it may be the key live sessions are sealed with.
pub(crate) fn write_key_file(path: &Path, force: bool) -> Result<(), String> {
    use std::io::Write as _;
    let key = generate_key()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let shown = path.display();
    let mut file = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{shown} exists: it may be the key live sessions are sealed with; choose \
                 another file, or pass --force to replace it"
            )
        } else {
            format!("cannot create {shown}: {e}")
        }
    })?;
    // A replaced file keeps its old mode: narrow it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot restrict {shown} to its owner: {e}"))?;
    }
    let mut text = STANDARD.encode(key);
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {shown}: {e}"))
}

/// Arguments of `mcp-policy keygen`.
#[derive(Debug, clap::Args)]
pub(crate) struct KeygenArgs {
    /// File to write the key to (base64 of 32 random bytes, mode 0600).
    path: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
}

/// Entry point of `mcp-policy keygen`.
pub(crate) fn keygen(args: &KeygenArgs) -> ExitCode {
    match write_key_file(&args.path, args.force) {
        Ok(()) => {
            eprintln!(
                "wrote a new session key to {}; give every replica this file and name it in \
                 [sessions] key_files: second until every replica has it, then first to seal \
                 new session ids with it",
                args.path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mcp-policy keygen: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[u8]) -> Keyring {
        let keys: Vec<[u8; KEY_LEN]> = keys.iter().map(|b| [*b; KEY_LEN]).collect();
        Keyring::from_keys(&keys, true)
    }

    fn http(up: &str) -> Bound {
        Bound::Http(up.to_owned())
    }

    #[test]
    fn round_trip_is_visible_ascii_and_unique() {
        let r = ring(&[1]);
        let id = r.seal("api", &http("upstream-1"), None).unwrap();
        assert!(id.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{id}");
        assert!(!id.contains('=') && !id.contains('+') && !id.contains('/'));
        let c = r.open("api", &id).unwrap();
        assert_eq!(c.bound, http("upstream-1"));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(now.as_secs().abs_diff(c.minted) < 5);
        let again = r.seal("api", &http("upstream-1"), None).unwrap();
        assert_ne!(id, again, "random nonces make every id different");
        assert!(!id.contains("upstream"), "the upstream id is not readable");
        let s = r.seal("api", &Bound::Stdio, None).unwrap();
        assert_eq!(r.open("api", &s).unwrap().bound, Bound::Stdio);
        assert_eq!(r.open("api", &s).unwrap().owner, None);
        let owned = r
            .seal(
                "api",
                &http("upstream-1"),
                Some("https://as.example\nalice"),
            )
            .unwrap();
        let c = r.open("api", &owned).unwrap();
        assert_eq!(c.owner.as_deref(), Some("https://as.example\nalice"));
        assert_eq!(
            c.bound,
            http("upstream-1"),
            "the owner does not bleed into the upstream id"
        );
        assert!(!owned.contains("alice"), "the owner is not readable");
    }

    #[test]
    fn a_changed_byte_anywhere_is_refused() {
        let r = ring(&[1]);
        let id = r.seal("api", &http("u"), None).unwrap();
        let wire = URL_SAFE_NO_PAD.decode(&id).unwrap();
        for i in 0..wire.len() {
            for flip in [0x01u8, 0x80] {
                let mut bad = wire.clone();
                bad[i] ^= flip;
                assert!(
                    r.open("api", &URL_SAFE_NO_PAD.encode(&bad)).is_none(),
                    "byte {i} ^ {flip:#x} was accepted"
                );
            }
        }
        assert!(r.open("api", &URL_SAFE_NO_PAD.encode(&wire[1..])).is_none());
        assert!(r.open("api", &format!("{id}A")).is_none());
        assert!(r.open("api", &id[..id.len() - 1]).is_none());
    }

    #[test]
    fn garbage_is_refused() {
        let r = ring(&[1]);
        for id in [
            "",
            "x",
            "not base64!",
            "0123456789abcdef0123456789abcdef",
            "====",
        ] {
            assert!(r.open("api", id).is_none(), "{id:?}");
        }
        assert!(r.open("api", &URL_SAFE_NO_PAD.encode([0u8; 200])).is_none());
    }

    #[test]
    fn other_key_or_other_api_is_refused() {
        let id = ring(&[1]).seal("api", &http("u"), None).unwrap();
        assert!(ring(&[2]).open("api", &id).is_none());
        assert!(ring(&[1]).open("other", &id).is_none());
        assert!(ring(&[1]).open("api2", &id).is_none());
        assert!(ring(&[1]).open("api", &id).is_some());
    }

    #[test]
    fn rotation_opens_with_any_key_and_seals_with_the_first() {
        let old = ring(&[1]);
        let before = old.seal("api", &http("u"), None).unwrap();
        let rotated = ring(&[2, 1]);
        assert_eq!(rotated.open("api", &before).unwrap().bound, http("u"));
        let after = rotated.seal("api", &http("v"), None).unwrap();
        assert!(old.open("api", &after).is_none(), "sealed with the new key");
        assert!(ring(&[2]).open("api", &after).is_some());
        assert!(ring(&[2]).open("api", &before).is_none(), "old key dropped");
    }

    #[test]
    fn process_key_is_one_and_not_shared() {
        let a = Keyring::process().unwrap();
        let b = Keyring::process().unwrap();
        assert!(!a.shared());
        let id = a.seal("api", &http("u"), None).unwrap();
        assert!(b.open("api", &id).is_some());
        assert!(!format!("{a:?}").contains('['), "no key material in Debug");
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mcp-policy-seal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn key_files_written_and_read() {
        let d = temp_dir("write");
        let p = d.join("current.key");
        write_key_file(&p, false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let k = read_key_file(&p).unwrap();
        let e = write_key_file(&p, false).unwrap_err();
        assert!(e.contains("exists") && e.contains("--force"), "{e}");
        assert_eq!(read_key_file(&p).unwrap(), k, "not overwritten");
        write_key_file(&p, true).unwrap();
        assert_ne!(read_key_file(&p).unwrap(), k);
        let q = d.join("previous.key");
        std::fs::write(&q, STANDARD.encode(k)).unwrap();
        let r = Keyring::from_files(&[p.clone(), q.clone()]).unwrap();
        assert!(r.shared());
        let sealed_old = Keyring::from_keys(&[k], true)
            .seal("a", &http("u"), None)
            .unwrap();
        assert!(r.open("a", &sealed_old).is_some());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn key_file_errors_say_what_which_and_how() {
        let d = temp_dir("errors");
        let missing = d.join("missing.key");
        let e = read_key_file(&missing).unwrap_err();
        assert!(
            e.contains("missing.key") && e.contains("cannot read"),
            "{e}"
        );
        assert!(e.contains("mcp-policy keygen"), "{e}");

        let short = d.join("short.key");
        std::fs::write(&short, STANDARD.encode([7u8; 16])).unwrap();
        let e = read_key_file(&short).unwrap_err();
        assert!(e.contains("short.key") && e.contains("16 bytes"), "{e}");
        assert!(e.contains("keygen"), "{e}");

        let text = d.join("text.key");
        std::fs::write(&text, "correct horse battery staple").unwrap();
        let e = read_key_file(&text).unwrap_err();
        assert!(e.contains("text.key") && e.contains("not base64"), "{e}");

        let ok = d.join("ok.key");
        std::fs::write(&ok, format!("  {}\n", STANDARD.encode([9u8; 32]))).unwrap();
        assert_eq!(read_key_file(&ok).unwrap(), [9u8; 32]);

        let e = Keyring::from_files(&[ok.clone(), missing.clone()]).unwrap_err();
        assert!(e.contains("missing.key"), "{e}");
        let e = Keyring::from_files(&[]).unwrap_err();
        assert!(e.contains("key_files is empty"), "{e}");

        // Unreadable whatever the user (root reads any file, but not a directory as one).
        let e = read_key_file(&d).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
