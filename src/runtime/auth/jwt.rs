//! HS256 access tokens. The algorithm is pinned: tokens signed otherwise (or `alg: none`)
//! are refused, as are tokens of another issuer or audience, expired ones and ones whose `nbf`
//! lies ahead.

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::PrincipalKind;
use crate::domain::role::Role;

pub const ISSUER: &str = "kaspersky-msp-bridge";
pub const AUDIENCE: &str = "kaspersky-msp-bridge-api";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's or service token's id.
    pub sub: String,
    pub kind: PrincipalKind,
    /// The role at issue time; the current role in the database is what counts.
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// A user's session generation at issue time (absent in older tokens: 0); service tokens
    /// carry 0.
    #[serde(rename = "sgen", default)]
    pub session_generation: i32,
}

/// Whom a token is issued to.
pub struct Subject<'a> {
    pub id: &'a str,
    pub kind: PrincipalKind,
    pub role: Role,
    /// A user's current session generation; 0 for a service token.
    pub session_generation: i32,
}

impl<'a> Subject<'a> {
    pub fn service(id: &'a str, role: Role) -> Self {
        Subject {
            id,
            kind: PrincipalKind::Service,
            role,
            session_generation: 0,
        }
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        // RFC 7519 §4.1.5: a token is not accepted before its `nbf`, with the same leeway.
        validation.validate_nbf = true;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs a token for `subject` that expires at `exp` (seconds since the epoch).
    pub fn issue(&self, subject: &Subject<'_>, iat: i64, exp: i64) -> String {
        let claims = Claims {
            sub: subject.id.to_string(),
            kind: subject.kind,
            role: subject.role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
            session_generation: subject.session_generation,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    pub fn issue_for(&self, subject: &Subject<'_>, ttl: Duration) -> String {
        let now = chrono::Utc::now().timestamp();
        self.issue(subject, now, now + ttl.as_secs() as i64)
    }

    /// Verifies signature, algorithm, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired".to_string(),
                    ErrorKind::ImmatureSignature => "the token is not valid yet".to_string(),
                    ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => {
                        "the token was not issued for this API".to_string()
                    }
                    _ => "the token is invalid".to_string(),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn user(id: &str, session_generation: i32) -> Subject<'_> {
        Subject {
            id,
            kind: PrincipalKind::User,
            role: Role::Admin,
            session_generation,
        }
    }

    #[test]
    fn a_token_from_before_session_generations_is_of_generation_0() {
        let keys = JwtKeys::new(SECRET);
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({"sub":"u1","kind":"user","role":"admin","iss":ISSUER,
            "aud":AUDIENCE,"iat":now,"exp":now+60,"jti":"x"});
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(keys.verify(&token).unwrap().session_generation, 0);
    }

    fn b64(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn round_trip() {
        let keys = JwtKeys::new(SECRET);
        let t = keys.issue_for(&user("u1", 3), Duration::from_secs(60));
        let c = keys.verify(&t).unwrap();
        assert_eq!((c.sub.as_str(), c.role), ("u1", Role::Admin));
        assert_eq!(c.session_generation, 3);
    }

    #[test]
    fn refused_tokens() {
        let keys = JwtKeys::new(SECRET);
        let now = chrono::Utc::now().timestamp();
        let expired = keys.issue(&user("u1", 0), now - 600, now - 300);
        assert_eq!(keys.verify(&expired).unwrap_err(), "the token has expired");

        let other = JwtKeys::new(b"another secret that is long enough!!");
        let forged = other.issue_for(&user("u1", 0), Duration::from_secs(60));
        assert!(keys.verify(&forged).is_err());

        let claims = serde_json::json!({"sub":"u1","kind":"user","role":"admin","iss":ISSUER,
            "aud":AUDIENCE,"iat":now,"exp":now+60,"jti":"x"});
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg":"none","typ":"JWT"})),
            b64(&claims)
        );
        assert!(keys.verify(&none).is_err());

        let mut wrong_aud = claims.clone();
        wrong_aud["aud"] = "someone-else".into();
        let token = encode(
            &Header::new(Algorithm::HS256),
            &wrong_aud,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(keys.verify(&token).is_err());

        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(keys.verify(&hs512).is_err());

        let mut not_yet = claims.clone();
        not_yet["nbf"] = (now + 60).into();
        let token = encode(
            &Header::new(Algorithm::HS256),
            &not_yet,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(
            keys.verify(&token).unwrap_err(),
            "the token is not valid yet"
        );
    }
}
