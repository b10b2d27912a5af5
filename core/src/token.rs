//! Tokens: what a client keeps. The id alone, or `id.signature` with an
//! HMAC-SHA256 signature when secrets are set, so that a client cannot
//! forge an id it was never given.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::session::Outcome;

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// Makes and checks tokens. The first key signs; every key verifies, so a
/// new key can be put first while tokens signed by the old one still work.
#[derive(Clone)]
pub(crate) struct Tokens {
    keys: Vec<HmacSha256>,
}

impl Tokens {
    pub(crate) fn new(secrets: &[Vec<u8>]) -> Result<Self> {
        let keys = secrets
            .iter()
            .map(|secret| {
                if secret.len() < MIN_SECRET_BYTES {
                    return Err(Error::invalid(
                        "secrets",
                        format!("a secret must be at least {MIN_SECRET_BYTES} bytes"),
                    ));
                }
                HmacSha256::new_from_slice(secret)
                    .map_err(|_| Error::invalid("secrets", "unusable HMAC key"))
            })
            .collect::<Result<_>>()?;
        Ok(Tokens { keys })
    }

    pub(crate) fn is_signed(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The token for `id`.
    pub(crate) fn token(&self, id: SessionId) -> String {
        let mut token = id.text();
        if let Some(key) = self.keys.first() {
            let mut mac = key.clone();
            mac.update(token.as_bytes());
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
        }
        token
    }

    /// The id a token stands for, if it is well formed and, when signing,
    /// carries a valid signature under one of the keys. A signed token is
    /// accepted in one form only, the one `token` makes (a lowercase id,
    /// unpadded base64url), so that no client can hand out variants of
    /// one token that count as different strings elsewhere (a cache key,
    /// a log, a rate limiter).
    pub(crate) fn verify(&self, token: &str) -> Result<SessionId> {
        if !self.is_signed() {
            return SessionId::parse(token);
        }
        let Some((id_part, signature)) = token.split_once('.') else {
            return Err(Error::invalid_id(token, "the token is not signed"));
        };
        let id = SessionId::parse(id_part)?;
        // Sign the canonical form; a token in any other is not one we made.
        let text = id.encode();
        if id_part.as_bytes() != text {
            return Err(Error::invalid_id(
                token,
                "not in canonical (lowercase) form",
            ));
        }
        let mut raw = [0u8; 33];
        let signature = match URL_SAFE_NO_PAD.decode_slice(signature, &mut raw) {
            Ok(32) => &raw[..32],
            _ => return Err(Error::invalid_id(token, "malformed signature")),
        };
        let valid = self.keys.iter().any(|key| {
            let mut mac = key.clone();
            mac.update(&text);
            mac.verify_slice(signature).is_ok()
        });
        if valid {
            Ok(id)
        } else {
            Err(Error::invalid_id(token, "bad signature"))
        }
    }
}

/// Signs the tokens of one tracker's sessions, apart from the tracker: a
/// session handed out by a binding keeps one, to sign its token only if
/// it is read, without keeping the tracker (and its sessions) alive. Cheap
/// to clone (nothing to copy when tokens are unsigned, a reference count
/// when signed). Its `Debug` shows no key.
#[derive(Clone)]
pub struct Signer(Option<std::sync::Arc<Tokens>>);

impl Signer {
    pub(crate) fn new(tokens: &Tokens) -> Self {
        Signer(
            tokens
                .is_signed()
                .then(|| std::sync::Arc::new(tokens.clone())),
        )
    }

    /// A signer of unsigned tokens (each the id).
    pub fn unsigned() -> Self {
        Signer(None)
    }

    /// The token for `id`: the id, or `id.signature`.
    pub fn token(&self, id: SessionId) -> String {
        match &self.0 {
            Some(tokens) => tokens.token(id),
            None => id.text(),
        }
    }

    /// Whether tokens are signed.
    pub fn is_signed(&self) -> bool {
        self.0.is_some()
    }

    /// The token of a session that `resume` gave `outcome` for the token
    /// `given`, when it need not be signed again: `given` itself when
    /// `resume` found the session with it (`existing` or `revived`) and
    /// one key signs (the signature checked is then the one
    /// [`Signer::token`] would compute, as only canonical tokens are
    /// accepted). `None` otherwise: a started session's token is new, a
    /// token of an older key comes back signed by the first, and an
    /// unsigned token is the id in its canonical form.
    pub fn given_back(&self, outcome: Outcome, given: Option<&str>) -> Option<String> {
        let one_key = self.0.as_ref().is_some_and(|tokens| tokens.keys.len() == 1);
        match (outcome, given) {
            (Outcome::Existing | Outcome::Revived, Some(given)) if one_key => {
                Some(given.to_owned())
            }
            _ => None,
        }
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("signed", &self.is_signed())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secrets: &[&str]) -> Tokens {
        let secrets: Vec<Vec<u8>> = secrets.iter().map(|s| s.as_bytes().to_vec()).collect();
        Tokens::new(&secrets).unwrap()
    }

    const OLD: &str = "old-secret-0123456789";
    const NEW: &str = "new-secret-0123456789";

    #[test]
    fn a_resumed_token_is_the_one_signing_would_give() {
        let id = SessionId::new_v7(1_700_000_000_000);
        let resumed = |signer: &Signer, outcome, given: &str| {
            signer
                .given_back(outcome, Some(given))
                .unwrap_or_else(|| signer.token(id))
        };
        let one = Signer::new(&tokens(&["first-secret-0123456789"]));
        let given = one.token(id);
        assert_eq!(
            one.given_back(Outcome::Existing, Some(&given)),
            Some(given.clone())
        );
        assert_eq!(resumed(&one, Outcome::Revived, &given), given);
        assert_eq!(one.given_back(Outcome::Started, Some(&given)), None);
        // Rotated: a token of the old key comes back signed by the new one.
        let old = Signer::new(&tokens(&["older-secret-0123456789"])).token(id);
        let two = Signer::new(&tokens(&[
            "first-secret-0123456789",
            "older-secret-0123456789",
        ]));
        assert_eq!(resumed(&two, Outcome::Existing, &old), given);
        // Unsigned: the id in its canonical form, whatever case was given.
        let upper = id.to_string().to_uppercase();
        assert_eq!(
            resumed(&Signer::unsigned(), Outcome::Existing, &upper),
            id.to_string()
        );
    }

    #[test]
    fn unsigned_tokens_are_the_id() {
        let t = tokens(&[]);
        let id = SessionId::new_v7(1_000);
        assert_eq!(t.token(id), id.to_string());
        assert_eq!(t.verify(&id.to_string()).unwrap(), id);
        assert!(t.verify(&format!("{id}.sig")).is_err());
    }

    #[test]
    fn signed_tokens_verify_and_reject_forgeries() {
        let t = tokens(&[OLD]);
        let id = SessionId::new_v7(1_000);
        let token = t.token(id);
        assert!(token.starts_with(&format!("{id}.")));
        assert_eq!(t.verify(&token).unwrap(), id);
        let (_, signature) = token.split_once('.').unwrap();
        let other = SessionId::new_v7(1_000);
        for forged in [
            id.to_string(),
            format!("{other}.{signature}"),
            format!("{token}x"),
            format!("{id}.AAAA"),
            format!("{id}."),
            format!("{id}.{signature}.{signature}"),
        ] {
            assert_eq!(
                t.verify(&forged).unwrap_err().code(),
                "INVALID_SESSION_ID",
                "{forged}"
            );
        }
    }

    /// Every upper/lower-case variant of a signed token but the one it was
    /// made in is refused; the base64 alphabet's variants too.
    #[test]
    fn signed_tokens_have_one_form() {
        let t = tokens(&[OLD]);
        let id = SessionId::parse("0190f5a2-7c4b-7d3e-8f00-123456789abc").unwrap();
        let token = t.token(id);
        let (id_part, signature) = token.split_once('.').unwrap();
        let letters: Vec<usize> = id_part
            .char_indices()
            .filter(|(_, c)| c.is_ascii_alphabetic())
            .map(|(i, _)| i)
            .collect();
        assert!(letters.len() >= 8);
        let mut accepted = 0;
        for mask in 0u32..(1 << 8) {
            let mut variant = id_part.as_bytes().to_vec();
            for (bit, &at) in letters.iter().take(8).enumerate() {
                if mask & (1 << bit) != 0 {
                    variant[at] = variant[at].to_ascii_uppercase();
                }
            }
            let variant = format!("{}.{signature}", String::from_utf8(variant).unwrap());
            accepted += usize::from(t.verify(&variant).is_ok());
        }
        assert_eq!(accepted, 1, "only the token as made");
        let standard = signature.replace('-', "+").replace('_', "/");
        if standard != signature {
            assert!(t.verify(&format!("{id_part}.{standard}")).is_err());
        }
        assert!(t.verify(&format!("{id_part}.{signature}=")).is_err());
    }

    #[test]
    fn rotation_signs_with_the_first_and_verifies_with_all() {
        let old = tokens(&[OLD]);
        let rotated = tokens(&[NEW, OLD]);
        let id = SessionId::new_v7(1_000);
        assert_eq!(rotated.verify(&old.token(id)).unwrap(), id);
        assert_ne!(rotated.token(id), old.token(id));
        assert!(tokens(&[NEW]).verify(&old.token(id)).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        let err = Tokens::new(&[b"short".to_vec()]).err().unwrap();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
    }
}
