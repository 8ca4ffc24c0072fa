//! Secrets at rest (connection passwords and private keys): AES-256-GCM under one key per
//! installation, from `BRIDGE_ENCRYPTION_KEY` or a key file generated in the data directory.
//!
//! The database remembers the key's fingerprint, and a process whose key does not match refuses
//! to start: two processes with different keys must never write secrets the other cannot read.

use std::path::Path;

use anyhow::Context;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::adapters::config::{decode_encryption_key, Settings};
use crate::adapters::db::{self, DbConnection};

pub const KEY_FILE: &str = "encryption.key";
const FINGERPRINT_KEY: &str = "encryption_key_fingerprint";

pub struct SecretBox {
    key: LessSafeKey,
    fingerprint: String,
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> SecretBox {
        let digest =
            Sha256::digest([b"kaspersky-msp-bridge key fingerprint:".as_slice(), &key].concat());
        let fingerprint = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let unbound = UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte AES-256 key");
        SecretBox {
            key: LessSafeKey::new(unbound),
            fingerprint,
        }
    }

    /// The key from the environment, else from the key file (generated on first use).
    pub fn load(settings: &Settings) -> anyhow::Result<SecretBox> {
        if let Some(text) = &settings.encryption_key {
            let key = decode_encryption_key(text)
                .map_err(|e| anyhow::anyhow!("BRIDGE_ENCRYPTION_KEY {e}"))?;
            return Ok(SecretBox::new(key));
        }
        let path = settings.data_dir.join(KEY_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the key file {}", path.display()))?;
            let key = decode_encryption_key(&text)
                .map_err(|e| anyhow::anyhow!("the key file {} {e}", path.display()))?;
            return Ok(SecretBox::new(key));
        }
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        crate::adapters::owner_only::write(&path, &format!("{}\n", STANDARD.encode(key)))?;
        tracing::info!(file = %path.display(), "generated the encryption key for secrets at rest");
        Ok(SecretBox::new(key))
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Checks the key against the one the database's secrets were written with (remembering
    /// it when this is the first key).
    pub fn ensure_matches_database(
        &self,
        conn: &mut DbConnection,
        data_dir: &Path,
    ) -> anyhow::Result<()> {
        let stored = db::key_values::get_or_insert(conn, FINGERPRINT_KEY, &self.fingerprint)?;
        if stored != self.fingerprint {
            anyhow::bail!(
                "the encryption key in use (fingerprint {}) is not the key this database's secrets \
                 were encrypted with (fingerprint {stored}): set BRIDGE_ENCRYPTION_KEY to that key \
                 or restore {}",
                self.fingerprint,
                data_dir.join(KEY_FILE).display()
            );
        }
        Ok(())
    }

    /// Encrypts `plaintext`, bound to `purpose` (a ciphertext cannot be moved to another use).
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut in_out,
            )
            .expect("AES-GCM sealing of an in-memory buffer");
        STANDARD.encode([nonce.as_slice(), &in_out].concat())
    }

    pub fn open(&self, purpose: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let bytes = STANDARD
            .decode(sealed)
            .context("a stored secret is not base64")?;
        anyhow::ensure!(bytes.len() > NONCE_LEN, "a stored secret is truncated");
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).expect("nonce length checked");
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut in_out)
            .map_err(|_| anyhow::anyhow!("a stored secret cannot be decrypted with this key"))?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let sb = SecretBox::new([7; 32]);
        let sealed = sb.seal("connection:connectwise", b"private");
        assert_ne!(
            sealed,
            sb.seal("connection:connectwise", b"private"),
            "nonces differ"
        );
        assert_eq!(
            sb.open("connection:connectwise", &sealed).unwrap(),
            b"private"
        );
        assert!(
            sb.open("connection:kaspersky", &sealed).is_err(),
            "bound to its purpose"
        );
        assert!(SecretBox::new([8; 32])
            .open("connection:connectwise", &sealed)
            .is_err());
        assert_ne!(sb.fingerprint(), SecretBox::new([8; 32]).fingerprint());
    }

    #[test]
    fn key_formats() {
        assert!(decode_encryption_key(&"ab".repeat(32)).is_ok());
        assert!(decode_encryption_key(&STANDARD.encode([1u8; 32])).is_ok());
        assert!(decode_encryption_key("short").is_err());
        assert!(decode_encryption_key(&STANDARD.encode([1u8; 16])).is_err());
    }
}
