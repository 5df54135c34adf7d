//! JWT access-token validation against a JWKS (feature `jwt`). Every key is generated here,
//! at test time; no private key is stored anywhere.
#![cfg(feature = "jwt")]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_policy::oauth::jwt::SkippedKey;
use mcp_policy::oauth::{
    Algorithm, ClaimMapping, Jwks, JwksError, JwtConfigError, JwtValidator, KeyKind, Principal,
    ScopeMode, TokenError, TokenPart, TokenSource,
};
use rand::rngs::OsRng;
use rsa::pkcs1::{EncodeRsaPublicKey as _, LineEnding};
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::Sha256;

const ISS: &str = "https://auth.example.com/tenant1";
const RESOURCE: &str = "https://gw.example.com/mcp";
const PRM: &str = "https://gw.example.com/.well-known/oauth-protected-resource/mcp";
/// A fixed "now", far from the real clock: the validator must only use what it is given.
const NOW: u64 = 1_000_000;

fn rsa_key() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut OsRng, 2048).unwrap())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

enum Key<'a> {
    Rs256(&'a rsa::RsaPrivateKey),
    Ps256(&'a rsa::RsaPrivateKey),
    Es256(&'a p256::ecdsa::SigningKey),
    Es384(&'a p384::ecdsa::SigningKey),
    Ed(&'a ed25519_dalek::SigningKey),
    Hs256(&'a [u8]),
}

fn sign(key: &Key<'_>, msg: &[u8]) -> Vec<u8> {
    use hmac::Mac as _;
    match key {
        Key::Rs256(k) => rsa::pkcs1v15::SigningKey::<Sha256>::new((*k).clone())
            .sign(msg)
            .to_vec(),
        Key::Ps256(k) => rsa::pss::BlindedSigningKey::<Sha256>::new((*k).clone())
            .sign_with_rng(&mut OsRng, msg)
            .to_vec(),
        Key::Es256(k) => {
            let sig: p256::ecdsa::Signature = k.sign(msg);
            sig.to_bytes().to_vec()
        }
        Key::Es384(k) => {
            let sig: p384::ecdsa::Signature = k.sign(msg);
            sig.to_bytes().to_vec()
        }
        Key::Ed(k) => ed25519_dalek::Signer::sign(*k, msg).to_bytes().to_vec(),
        Key::Hs256(secret) => {
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).unwrap();
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

fn raw_token(header: &str, payload: &str, key: &Key<'_>) -> String {
    let msg = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = sign(key, msg.as_bytes());
    format!("{msg}.{}", b64(&sig))
}

fn token(header: Value, claims: &Value, key: &Key<'_>) -> String {
    raw_token(&header.to_string(), &claims.to_string(), key)
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "alice",
        "aud": RESOURCE,
        "exp": NOW + 300,
        "iat": NOW - 10,
        "scope": "mcp:tools mcp:resources",
        "client_id": "vscode"
    })
}

fn rsa_jwk(kid: &str, key: &rsa::RsaPrivateKey) -> Value {
    json!({
        "kty": "RSA", "kid": kid, "use": "sig",
        "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be())
    })
}

fn p256_jwk(kid: &str, key: &p256::ecdsa::SigningKey) -> Value {
    let p = key.verifying_key().to_encoded_point(false);
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(p.x().unwrap()), "y": b64(p.y().unwrap())})
}

fn p384_jwk(kid: &str, key: &p384::ecdsa::SigningKey) -> Value {
    let p = key.verifying_key().to_encoded_point(false);
    json!({"kty": "EC", "crv": "P-384", "kid": kid, "x": b64(p.x().unwrap()), "y": b64(p.y().unwrap())})
}

fn ed_jwk(kid: &str, key: &ed25519_dalek::SigningKey) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(key.verifying_key().as_bytes())})
}

fn jwks(keys: &[Value]) -> Jwks {
    Jwks::from_json(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
}

fn validator(keys: &[Value]) -> JwtValidator {
    JwtValidator::new(jwks(keys), [ISS], RESOURCE).unwrap()
}

fn rsa_validator() -> JwtValidator {
    validator(&[rsa_jwk("rsa-1", rsa_key())])
}

fn rs256(claims: &Value) -> String {
    token(
        json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}),
        claims,
        &Key::Rs256(rsa_key()),
    )
}

/// Asserts the error and the 401 `invalid_token` challenge it maps to.
fn assert_401(err: &TokenError, description: &str) {
    assert_eq!(err.http_status(), 401, "{err}");
    assert_eq!(
        err.challenge(PRM).to_string(),
        format!(
            "Bearer resource_metadata=\"{PRM}\", error=\"invalid_token\", error_description=\"{description}\""
        )
    );
    assert_eq!(err.challenge(PRM).http_status(), 401);
}

#[test]
fn valid_rs256_token_is_accepted_and_fills_attributes() {
    let claims = claims();
    let principal = rsa_validator().validate(&rs256(&claims), NOW).unwrap();
    let payload = claims.to_string();
    assert_eq!(
        principal,
        Principal {
            user: Some("alice".into()),
            scopes: vec!["mcp:tools".into(), "mcp:resources".into()],
            client_id: Some("vscode".into()),
            issuer: Some(ISS.into()),
            audience: vec![RESOURCE.into()],
            expires_at: Some(NOW + 300),
            claims: claims.as_object().unwrap().clone(),
            payload: payload.clone(),
            source: TokenSource::Jwt,
        }
    );
    assert_eq!(
        principal.attributes(),
        vec![
            ("user".to_owned(), json!("alice")),
            (
                "user.roles".to_owned(),
                json!(["mcp:tools", "mcp:resources"])
            ),
            ("jwt.claims".to_owned(), claims.clone()),
            ("oauth.payload".to_owned(), json!(payload)),
            ("client_id".to_owned(), json!("vscode")),
            ("oauth.client_id".to_owned(), json!("vscode")),
        ]
    );
}

#[test]
fn every_default_algorithm_verifies() {
    let es256 = p256::ecdsa::SigningKey::random(&mut OsRng);
    let es384 = p384::ecdsa::SigningKey::random(&mut OsRng);
    let ed = ed25519_dalek::SigningKey::generate(&mut OsRng);
    let v = validator(&[
        rsa_jwk("rsa-1", rsa_key()),
        p256_jwk("ec-256", &es256),
        p384_jwk("ec-384", &es384),
        ed_jwk("ed", &ed),
    ]);
    assert_eq!(
        v.jwks()
            .keys()
            .iter()
            .map(|k| (k.kid(), k.kind()))
            .collect::<Vec<_>>(),
        vec![
            (Some("rsa-1"), KeyKind::Rsa),
            (Some("ec-256"), KeyKind::P256),
            (Some("ec-384"), KeyKind::P384),
            (Some("ed"), KeyKind::Ed25519)
        ]
    );
    let cases = [
        ("RS256", "rsa-1", Key::Rs256(rsa_key())),
        ("PS256", "rsa-1", Key::Ps256(rsa_key())),
        ("ES256", "ec-256", Key::Es256(&es256)),
        ("ES384", "ec-384", Key::Es384(&es384)),
        ("EdDSA", "ed", Key::Ed(&ed)),
    ];
    for (alg, kid, key) in cases {
        let mut c = claims();
        c["sub"] = json!(format!("user-{alg}"));
        let t = token(json!({"alg": alg, "kid": kid}), &c, &key);
        let p = v.validate(&t, NOW).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(p.user.as_deref(), Some(format!("user-{alg}").as_str()));
    }
    // A signature made by one key does not verify under another key's kid.
    let t = token(
        json!({"alg": "ES256", "kid": "ec-256"}),
        &claims(),
        &Key::Es256(&p256::ecdsa::SigningKey::random(&mut OsRng)),
    );
    assert_eq!(v.validate(&t, NOW), Err(TokenError::InvalidSignature));
}

#[test]
fn wrong_issuer_is_rejected() {
    let mut c = claims();
    c["iss"] = json!("https://evil.example.com");
    let err = rsa_validator().validate(&rs256(&c), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::WrongIssuer {
            found: "https://evil.example.com".into(),
            expected: vec![ISS.into()]
        }
    );
    assert_401(&err, "The access token was issued by an untrusted issuer");
    // Issuers compare exactly: a trailing slash is another issuer.
    c["iss"] = json!(format!("{ISS}/"));
    assert!(matches!(
        rsa_validator().validate(&rs256(&c), NOW),
        Err(TokenError::WrongIssuer { .. })
    ));
    c.as_object_mut().unwrap().remove("iss");
    let err = rsa_validator().validate(&rs256(&c), NOW).unwrap_err();
    assert_eq!(err, TokenError::MissingClaim { claim: "iss" });
    assert_401(&err, "The access token claims are invalid");
    // Several trusted issuers.
    let v = JwtValidator::new(
        jwks(&[rsa_jwk("rsa-1", rsa_key())]),
        ["https://a", ISS],
        RESOURCE,
    )
    .unwrap();
    assert!(
        v.validate(&rs256(&claims()), NOW)
            .is_ok_and(|p| p.issuer.as_deref() == Some(ISS))
    );
}

#[test]
fn wrong_audience_is_rejected() {
    let mut c = claims();
    c["aud"] = json!("https://other.example.com/mcp");
    let err = rsa_validator().validate(&rs256(&c), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::WrongAudience {
            found: vec!["https://other.example.com/mcp".into()],
            expected: vec![RESOURCE.into()]
        }
    );
    assert_401(&err, "The access token was not issued for this resource");
    assert!(
        err.to_string()
            .contains("resource=https://gw.example.com/mcp (RFC 8707)"),
        "{err}"
    );
    // The upstream's URL is not ours either (no token passthrough of foreign tokens).
    c["aud"] = json!(["http://10.0.0.5:3001/mcp", "vscode"]);
    assert!(matches!(
        rsa_validator().validate(&rs256(&c), NOW),
        Err(TokenError::WrongAudience { found, .. }) if found.len() == 2
    ));
    c.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        rsa_validator().validate(&rs256(&c), NOW),
        Err(TokenError::MissingClaim { claim: "aud" })
    );
    // An array that contains the resource is fine, and so is a non-canonical spelling of it.
    c["aud"] = json!(["vscode", "HTTPS://GW.EXAMPLE.COM:443/mcp"]);
    let p = rsa_validator().validate(&rs256(&c), NOW).unwrap();
    assert_eq!(
        p.audience,
        vec![
            "vscode".to_owned(),
            "HTTPS://GW.EXAMPLE.COM:443/mcp".to_owned()
        ]
    );
    c["aud"] = json!(42);
    assert_eq!(
        rsa_validator().validate(&rs256(&c), NOW),
        Err(TokenError::InvalidClaim {
            claim: "aud".into(),
            reason: "must be a string or an array of strings".into()
        })
    );
    // Additional audiences are opt-in.
    c["aud"] = json!("api://gateway");
    let v = rsa_validator().with_additional_audience("api://gateway");
    assert!(v.validate(&rs256(&c), NOW).is_ok());
}

#[test]
fn expired_token_is_rejected_with_leeway() {
    let mut c = claims();
    c["exp"] = json!(NOW - 60);
    let err = rsa_validator().validate(&rs256(&c), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::Expired {
            exp: NOW - 60,
            now: NOW,
            leeway: 60
        }
    );
    assert_401(&err, "The access token expired");
    // Inside the default 60 s leeway.
    c["exp"] = json!(NOW - 59);
    assert!(rsa_validator().validate(&rs256(&c), NOW).is_ok());
    // No leeway.
    c["exp"] = json!(NOW);
    assert_eq!(
        rsa_validator().with_leeway(0).validate(&rs256(&c), NOW),
        Err(TokenError::Expired {
            exp: NOW,
            now: NOW,
            leeway: 0
        })
    );
    // The same token is fine at an earlier "now": the clock is the caller's.
    assert!(
        rsa_validator()
            .with_leeway(0)
            .validate(&rs256(&c), NOW - 1)
            .is_ok()
    );
    // Fractional NumericDate.
    c["exp"] = json!(NOW as f64 - 100.5);
    assert!(matches!(
        rsa_validator().validate(&rs256(&c), NOW),
        Err(TokenError::Expired { exp, .. }) if exp == NOW - 101
    ));
    c["exp"] = json!("tomorrow");
    assert_eq!(
        rsa_validator().validate(&rs256(&c), NOW),
        Err(TokenError::InvalidClaim {
            claim: "exp".into(),
            reason: "must be a number of seconds since the epoch".into()
        })
    );
    c.as_object_mut().unwrap().remove("exp");
    let err = rsa_validator().validate(&rs256(&c), NOW).unwrap_err();
    assert_eq!(err, TokenError::MissingClaim { claim: "exp" });
    assert_401(&err, "The access token claims are invalid");
}

#[test]
fn not_yet_valid_token_is_rejected() {
    let mut c = claims();
    c["nbf"] = json!(NOW + 61);
    let err = rsa_validator().validate(&rs256(&c), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::NotYetValid {
            nbf: NOW + 61,
            now: NOW,
            leeway: 60
        }
    );
    assert_401(&err, "The access token is not valid yet");
    c["nbf"] = json!(NOW + 60);
    assert!(rsa_validator().validate(&rs256(&c), NOW).is_ok());
    let mut c = claims();
    c["iat"] = json!(NOW + 3600);
    let err = rsa_validator().validate(&rs256(&c), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::IssuedInFuture {
            iat: NOW + 3600,
            now: NOW,
            leeway: 60
        }
    );
    assert_401(&err, "The access token is not valid yet");
}

#[test]
fn unknown_kid_is_rejected() {
    let t = token(
        json!({"alg": "RS256", "kid": "rotated-away"}),
        &claims(),
        &Key::Rs256(rsa_key()),
    );
    let err = rsa_validator().validate(&t, NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::UnknownKid {
            kid: "rotated-away".into()
        }
    );
    assert_401(&err, "The access token was signed with an unknown key");
    assert!(err.to_string().contains("refresh the JWKS"), "{err}");
    // After a JWKS refresh that holds the key, the same token passes.
    let mut v = rsa_validator();
    v.set_jwks(jwks(&[rsa_jwk("rotated-away", rsa_key())]));
    assert!(v.validate(&t, NOW).is_ok());
}

#[test]
fn kid_selection() {
    let ec = p256::ecdsa::SigningKey::random(&mut OsRng);
    // No kid, one key that fits the alg: used, even when other key types are present.
    let v = validator(&[rsa_jwk("rsa-1", rsa_key()), p256_jwk("ec", &ec)]);
    let t = token(json!({"alg": "ES256"}), &claims(), &Key::Es256(&ec));
    assert!(v.validate(&t, NOW).is_ok());
    // No kid, two keys that fit: ambiguous.
    let ec2 = p256::ecdsa::SigningKey::random(&mut OsRng);
    let v = validator(&[p256_jwk("a", &ec), p256_jwk("b", &ec2)]);
    let err = v.validate(&t, NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::NoUniqueKey {
            alg: "ES256".into(),
            candidates: 2
        }
    );
    assert_401(&err, "No matching key for the access token");
    // A kid whose key is of another type.
    let v = validator(&[rsa_jwk("k", rsa_key())]);
    let t = token(
        json!({"alg": "ES256", "kid": "k"}),
        &claims(),
        &Key::Es256(&ec),
    );
    assert_eq!(
        v.validate(&t, NOW),
        Err(TokenError::KeyAlgorithmMismatch {
            alg: "ES256".into(),
            kid: "k".into()
        })
    );
    // A JWK that pins its alg verifies nothing else.
    let mut pinned = rsa_jwk("k", rsa_key());
    pinned["alg"] = json!("RS256");
    let v = validator(&[pinned]);
    let t = token(
        json!({"alg": "PS256", "kid": "k"}),
        &claims(),
        &Key::Ps256(rsa_key()),
    );
    assert_eq!(
        v.validate(&t, NOW),
        Err(TokenError::KeyAlgorithmMismatch {
            alg: "PS256".into(),
            kid: "k".into()
        })
    );
    assert_eq!(v.jwks().keys()[0].alg(), Some(Algorithm::RS256));
}

#[test]
fn tampered_token_is_rejected() {
    let t = rs256(&claims());
    let (head, sig) = t.rsplit_once('.').unwrap();
    let (h, _) = head.split_once('.').unwrap();
    let mut forged = claims();
    forged["sub"] = json!("admin");
    forged["scope"] = json!("mcp:admin");
    let tampered = format!("{h}.{}.{sig}", b64(forged.to_string().as_bytes()));
    let err = rsa_validator().validate(&tampered, NOW).unwrap_err();
    assert_eq!(err, TokenError::InvalidSignature);
    assert_401(&err, "The access token signature is invalid");
    // One flipped signature bit.
    let mut raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
    raw[10] ^= 1;
    let flipped = format!("{head}.{}", b64(&raw));
    assert_eq!(
        rsa_validator().validate(&flipped, NOW),
        Err(TokenError::InvalidSignature)
    );
    // Signature stripped.
    assert_eq!(
        rsa_validator().validate(&format!("{head}."), NOW),
        Err(TokenError::InvalidSignature)
    );
}

#[test]
fn alg_none_is_rejected() {
    for alg in ["none", "None", "NONE"] {
        let t = format!(
            "{}.{}.",
            b64(json!({"alg": alg, "kid": "rsa-1"}).to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let err = rsa_validator().validate(&t, NOW).unwrap_err();
        assert_eq!(err, TokenError::AlgorithmNone);
        assert_401(&err, "Unsigned access tokens are not accepted");
    }
}

#[test]
fn rs256_token_resigned_as_hs256_with_the_public_key_is_rejected() {
    let public = rsa_key().to_public_key();
    let pem = public.to_pkcs1_pem(LineEnding::LF).unwrap();
    let der = public.to_pkcs1_der().unwrap();
    let n = public.n().to_bytes_be();
    for secret in [pem.as_bytes(), der.as_bytes(), n.as_slice()] {
        let t = token(
            json!({"alg": "HS256", "kid": "rsa-1"}),
            &claims(),
            &Key::Hs256(secret),
        );
        let err = rsa_validator().validate(&t, NOW).unwrap_err();
        assert_eq!(
            err,
            TokenError::AlgorithmConfusion {
                alg: "HS256".into()
            }
        );
        assert_401(&err, "The access token signature algorithm is not accepted");
        // Listing HS256 as allowed does not help without an explicit shared secret.
        let v = rsa_validator().with_algorithms(&[Algorithm::RS256, Algorithm::HS256]);
        assert_eq!(
            v.validate(&t, NOW),
            Err(TokenError::AlgorithmConfusion {
                alg: "HS256".into()
            })
        );
    }
    // With an explicit shared secret, HMAC works, but only with that secret.
    let v = rsa_validator().with_hmac_secret(b"a shared secret of at least 32 bytes!!");
    let good = token(
        json!({"alg": "HS256"}),
        &claims(),
        &Key::Hs256(b"a shared secret of at least 32 bytes!!"),
    );
    assert!(
        v.validate(&good, NOW)
            .is_ok_and(|p| p.user.as_deref() == Some("alice"))
    );
    let confused = token(
        json!({"alg": "HS256", "kid": "rsa-1"}),
        &claims(),
        &Key::Hs256(pem.as_bytes()),
    );
    assert_eq!(
        v.validate(&confused, NOW),
        Err(TokenError::InvalidSignature)
    );
    // And RS256 still goes to the JWKS.
    assert!(v.validate(&rs256(&claims()), NOW).is_ok());
}

#[test]
fn algorithm_allow_list() {
    let v = rsa_validator().with_algorithms(&[Algorithm::ES256]);
    let err = v.validate(&rs256(&claims()), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::AlgorithmNotAllowed {
            alg: "RS256".into()
        }
    );
    assert_401(&err, "The access token signature algorithm is not accepted");
    let t = token(json!({"alg": "XY999"}), &claims(), &Key::Rs256(rsa_key()));
    assert_eq!(
        rsa_validator().validate(&t, NOW),
        Err(TokenError::AlgorithmNotAllowed {
            alg: "XY999".into()
        })
    );
    // RS384 is a valid RSA algorithm, but not in the default list.
    let t = token(
        json!({"alg": "RS384", "kid": "rsa-1"}),
        &claims(),
        &Key::Rs256(rsa_key()),
    );
    assert_eq!(
        rsa_validator().validate(&t, NOW),
        Err(TokenError::AlgorithmNotAllowed {
            alg: "RS384".into()
        })
    );
}

#[test]
fn missing_scope_is_a_403_with_every_needed_scope() {
    let v = rsa_validator().with_required_scopes(["mcp:tools", "mcp:admin"], ScopeMode::All);
    let err = v.validate(&rs256(&claims()), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::InsufficientScope {
            required: vec!["mcp:tools".into(), "mcp:admin".into()],
            missing: vec!["mcp:admin".into()],
            mode: ScopeMode::All,
        }
    );
    assert_eq!(err.http_status(), 403);
    let challenge = err.challenge(PRM);
    assert_eq!(challenge.http_status(), 403);
    assert_eq!(
        challenge.to_string(),
        format!(
            "Bearer resource_metadata=\"{PRM}\", scope=\"mcp:tools mcp:admin\", error=\"insufficient_scope\", error_description=\"The access token lacks required scopes\""
        )
    );
    // Any-mode: one of them is enough.
    let v = rsa_validator().with_required_scopes(["mcp:admin", "mcp:tools"], ScopeMode::Any);
    assert!(v.validate(&rs256(&claims()), NOW).is_ok());
    // Scopes from `scp` (array or string) when `scope` is absent.
    let mut c = claims();
    c.as_object_mut().unwrap().remove("scope");
    c["scp"] = json!(["mcp:admin", "mcp:tools"]);
    let v = rsa_validator().with_required_scopes(["mcp:tools", "mcp:admin"], ScopeMode::All);
    assert_eq!(
        v.validate(&rs256(&c), NOW).unwrap().scopes,
        vec!["mcp:admin", "mcp:tools"]
    );
    c["scp"] = json!("mcp:admin mcp:tools");
    assert_eq!(
        v.validate(&rs256(&c), NOW).unwrap().scopes,
        vec!["mcp:admin", "mcp:tools"]
    );
}

#[test]
fn claim_mapping_and_client_id_fallbacks() {
    let mut c = claims();
    c["email"] = json!("alice@example.com");
    c.as_object_mut().unwrap().remove("client_id");
    c["azp"] = json!("cursor");
    let v = rsa_validator().with_claim_mapping(ClaimMapping {
        user_claim: "email".into(),
        scope_separator: ' ',
    });
    let p = v.validate(&rs256(&c), NOW).unwrap();
    assert_eq!(p.user.as_deref(), Some("alice@example.com"));
    assert_eq!(p.client_id.as_deref(), Some("cursor"));
    c.as_object_mut().unwrap().remove("azp");
    c["aud"] = json!([RESOURCE, "other"]);
    let p = v.validate(&rs256(&c), NOW).unwrap();
    assert_eq!(
        p.client_id.as_deref(),
        Some(RESOURCE),
        "falls back to the first aud"
    );
    c.as_object_mut().unwrap().remove("email");
    let p = v.validate(&rs256(&c), NOW).unwrap();
    assert_eq!(p.user, None);
    assert_eq!(
        p.attributes()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        [
            "user.roles",
            "jwt.claims",
            "oauth.payload",
            "client_id",
            "oauth.client_id"
        ]
    );
}

#[test]
fn malformed_tokens_name_the_part() {
    let v = rsa_validator();
    let m = |t: &str| match v.validate(t, NOW) {
        Err(TokenError::Malformed { part, reason }) => (part, reason),
        other => panic!("{t}: {other:?}"),
    };
    assert_eq!(m("abc.def").0, TokenPart::Token);
    assert_eq!(
        m("a.b.c.d.e"),
        (
            TokenPart::Token,
            "a signed JWT has 3 `.`-separated parts, this has 5 (JWE is not supported)".into()
        )
    );
    assert_eq!(
        m("!!.e30.c2ln"),
        (TokenPart::Header, "not base64url".into())
    );
    assert_eq!(
        m(&format!("{}.e30.c2ln", b64(b"not json"))).0,
        TokenPart::Header
    );
    assert_eq!(
        m(&format!("{}.e30.c2ln", b64(br#"{"kid":"rsa-1"}"#))),
        (TokenPart::Header, "`alg` is missing".into())
    );
    assert_eq!(
        m(&format!(
            "{}.e30.c2ln",
            b64(br#"{"alg":"RS256","crit":["exp"],"exp":1}"#)
        )),
        (
            TokenPart::Header,
            "`crit` extensions are not supported".into()
        )
    );
    let (part, reason) = m(&format!(
        "{}.e30.c2ln",
        b64(br#"{"alg":"RS256","alg":"none"}"#)
    ));
    assert_eq!(part, TokenPart::Header);
    assert!(reason.contains("duplicate field `alg`"), "{reason}");
    assert_eq!(
        m(&format!("{}.e30.@@", b64(br#"{"alg":"RS256"}"#))).0,
        TokenPart::Signature
    );
    // A header must be an object: an array is not read by position.
    let t = raw_token(
        r#"["RS256","rsa-1",null]"#,
        &claims().to_string(),
        &Key::Rs256(rsa_key()),
    );
    assert_eq!(m(&t).0, TokenPart::Header);
    // Claims must be an object too.
    let t = raw_token(
        r#"{"alg":"RS256","kid":"rsa-1"}"#,
        "[1,2]",
        &Key::Rs256(rsa_key()),
    );
    assert_eq!(m(&t).0, TokenPart::Payload);
    let long = "a".repeat(20_000);
    assert_eq!(
        m(&long),
        (TokenPart::Token, "longer than 16384 bytes".into())
    );
    let err = v.validate("abc.def", NOW).unwrap_err();
    assert_401(&err, "The access token is malformed");
}

#[test]
fn duplicate_claims_are_rejected_after_the_signature() {
    // A correctly signed token whose payload names `aud` twice: parsers that keep the first
    // and parsers that keep the last would disagree, so it is refused.
    let payload = format!(
        r#"{{"iss":"{ISS}","sub":"alice","aud":"https://other","aud":"{RESOURCE}","exp":{}}}"#,
        NOW + 300
    );
    let t = raw_token(
        r#"{"alg":"RS256","kid":"rsa-1"}"#,
        &payload,
        &Key::Rs256(rsa_key()),
    );
    match rsa_validator().validate(&t, NOW) {
        Err(TokenError::Malformed {
            part: TokenPart::Payload,
            reason,
        }) => {
            assert!(reason.contains("duplicate field `aud`"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn jwks_parsing_skips_unusable_keys_with_reasons() {
    let ec = p256::ecdsa::SigningKey::random(&mut OsRng);
    let mut enc = rsa_jwk("enc", rsa_key());
    enc["use"] = json!("enc");
    let mut private = p256_jwk("leaked", &ec);
    private["d"] = json!(b64(&ec.to_bytes()));
    let mut off_curve = p256_jwk("bad-point", &ec);
    off_curve["y"] = json!(b64(&[7u8; 32]));
    let short = json!({"kty": "RSA", "kid": "short", "n": b64(&[0xC1; 128]), "e": "AQAB"});
    let doc = json!({"keys": [
        enc,
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        private,
        off_curve,
        short,
        {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "short-ed", "x": b64(&[1u8; 31])},
        {"kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": "AA", "e": "AQAB"},
        p256_jwk("good", &ec),
    ]});
    let set = Jwks::from_json(doc.to_string().as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 1);
    assert_eq!(set.keys()[0].kid(), Some("good"));
    let skipped = |i: usize, kid: &str, reason: &str| SkippedKey {
        index: i,
        kid: Some(kid.into()),
        reason: reason.into(),
    };
    assert_eq!(
        set.skipped(),
        [
            skipped(0, "enc", "`use` is \"enc\", not \"sig\""),
            skipped(
                1,
                "hmac",
                "symmetric (`oct`) keys are never taken from a JWKS"
            ),
            skipped(
                2,
                "leaked",
                "it contains private key material (`d`); the issuer leaked its key"
            ),
            skipped(3, "bad-point", "(P-256) point is not on the curve"),
            skipped(4, "short", "RSA modulus has 1024 bits, fewer than 2048"),
            skipped(5, "p521", "unsupported key type \"EC\" / curve \"P-521\""),
            skipped(6, "short-ed", "Ed25519 `x` must be 32 bytes"),
            skipped(7, "ops", "`key_ops` does not allow \"verify\""),
        ]
    );
    let only_bad = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
    let err = Jwks::from_json(only_bad.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        err,
        JwksError::NoUsableKeys {
            skipped: vec![SkippedKey {
                index: 0,
                kid: None,
                reason: "symmetric (`oct`) keys are never taken from a JWKS".into()
            }]
        }
    );
    assert!(err.to_string().contains("keys[0]: symmetric"), "{err}");
    assert!(matches!(
        Jwks::from_json(br#"{"keys":[],"keys":[]}"#),
        Err(JwksError::Json { reason }) if reason.contains("duplicate field `keys`")
    ));
    assert!(matches!(
        Jwks::from_json(b"{}"),
        Err(JwksError::Json { .. })
    ));
    // Keys are objects; an array with the right number of items is not a key.
    let positional = json!({"keys": [["RSA", "k", null, null, null, null,
        b64(&rsa_key().n().to_bytes_be()), "AQAB", null, null, null]]});
    assert!(matches!(
        Jwks::from_json(positional.to_string().as_bytes()),
        Err(JwksError::Json { .. })
    ));
    assert!(matches!(
        Jwks::from_json(br#"[[]]"#),
        Err(JwksError::Json { .. })
    ));
    assert!(matches!(
        Jwks::from_json(br#"{"keys":[{"kty":"EC","kty":"RSA"}]}"#),
        Err(JwksError::Json { reason }) if reason.contains("duplicate field `kty`")
    ));
}

#[test]
fn validator_configuration_errors() {
    assert_eq!(
        JwtValidator::new(Jwks::empty(), Vec::<String>::new(), RESOURCE).unwrap_err(),
        JwtConfigError::NoIssuer
    );
    assert!(matches!(
        JwtValidator::new(Jwks::empty(), [ISS], "mcp"),
        Err(JwtConfigError::ResourceUrl(_))
    ));
    // An HMAC-only validator.
    let v = JwtValidator::new(Jwks::empty(), [ISS], RESOURCE)
        .unwrap()
        .with_hmac_secret(b"s3cret");
    let t = token(json!({"alg": "HS256"}), &claims(), &Key::Hs256(b"s3cret"));
    assert!(v.validate(&t, NOW).is_ok());
    assert_eq!(
        v.validate(&rs256(&claims()), NOW),
        Err(TokenError::UnknownKid {
            kid: "rsa-1".into()
        })
    );
}

#[test]
fn required_scopes_helpers_on_principal() {
    let p = rsa_validator().validate(&rs256(&claims()), NOW).unwrap();
    assert!(p.has_scopes(&[], ScopeMode::All));
    assert!(p.has_scopes(&["mcp:tools"], ScopeMode::All));
    assert!(!p.has_scopes(&["mcp:tools", "x"], ScopeMode::All));
    assert!(p.has_scopes(&["mcp:tools", "x"], ScopeMode::Any));
    assert!(!p.has_scopes(&["x", "y"], ScopeMode::Any));
    assert_eq!(
        p.missing_scopes(&["x", "mcp:resources", "y"]),
        vec!["x", "y"]
    );
    assert_eq!(p.require_scopes(&["mcp:resources"], ScopeMode::All), Ok(()));
}
