//! Secrets the server must read back (authenticator-app secrets) are sealed at rest:
//! XChaCha20-Poly1305 with a random 192-bit nonce, under a key derived from the pepper, with
//! the owner's id as associated data, so a sealed value copied to another row does not open.

use assent_identity::consumer::SecretHasher;
use assent_identity::secret::SecretString;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::HEXLOWER;
use rand::RngCore;

/// Version tag of the sealed format.
const VERSION: &str = "v1:";

/// A sealed value that does not open: corrupt, moved, or sealed under another key.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("sealed value does not open")]
pub struct Unsealable;

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([key redacted])")
    }
}

impl Sealer {
    /// A sealer whose key is derived from the pepper under `label`.
    pub fn derived(hasher: &SecretHasher, label: &str) -> Self {
        let key_hex = hasher.hash(label, &SecretString::new(String::new()));
        let key = HEXLOWER
            .decode(key_hex.as_bytes())
            .unwrap_or_else(|_| key_hex.into_bytes());
        let mut key32 = [0u8; 32];
        for (slot, byte) in key32.iter_mut().zip(key) {
            *slot = byte;
        }
        Self {
            cipher: XChaCha20Poly1305::new(&key32.into()),
        }
    }

    /// `v1:` and the hex of nonce and ciphertext.
    pub fn seal(&self, plaintext: &[u8], owner: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: owner.as_bytes(),
        };
        // Encryption only fails for messages beyond the cipher's limit (256 GiB).
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION}{}", HEXLOWER.encode(&out))
    }

    pub fn open(&self, sealed: &str, owner: &str) -> Result<Vec<u8>, Unsealable> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|hex| HEXLOWER.decode(hex.as_bytes()).ok())
            .ok_or(Unsealable)?;
        if bytes.len() < 24 {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| Unsealable)?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(pepper: u8) -> Sealer {
        Sealer::derived(&SecretHasher::new(&[pepper; 32]).unwrap(), "test")
    }

    #[test]
    fn sealed_values_open_only_for_their_owner_and_key() {
        let s = sealer(1);
        let sealed = s.seal(b"secret", "alice");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains(&HEXLOWER.encode(b"secret")));
        assert_eq!(s.open(&sealed, "alice").unwrap(), b"secret");
        assert!(s.open(&sealed, "bob").is_err());
        assert!(sealer(2).open(&sealed, "alice").is_err());
        assert_ne!(
            sealed,
            s.seal(b"secret", "alice"),
            "a fresh nonce each time"
        );
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert!(
            s.open(std::str::from_utf8(&flipped).unwrap(), "alice")
                .is_err()
        );
        assert!(s.open("v1:00", "alice").is_err());
        assert!(s.open("plain", "alice").is_err());
    }
}
