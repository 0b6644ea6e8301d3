//! MOSIP's encrypted authentication request, both ways: how a resident service seals an internal
//! authentication for IDA, and how IDA opens it.
//!
//! - `request`: the JSON, AES-256-GCM under a fresh session key, a 16-byte random IV, laid out as
//!   `ciphertext ‖ tag ‖ IV` (MOSIP's key manager);
//! - `requestSessionKey`: the session key, RSA-OAEP (SHA-256, MGF1 SHA-256) under IDA's `INTERNAL`
//!   certificate;
//! - `requestHMAC`: the upper-case hex SHA-256 of the JSON, sealed as `request` is, with its own IV;
//! - `thumbprint`: the SHA-256 of the certificate's DER, naming the key that opens it;
//!
//! each in URL-safe base64 without padding.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use rand::{CryptoRng, RngCore};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};

/// AES-256-GCM with MOSIP's 16-byte IV.
type Aes256Gcm16 = AesGcm<Aes256, U16>;

const IV_LEN: usize = 16;
const TAG_LEN: usize = 16;

/// IDA's `INTERNAL` certificate, as its key manager hands it out.
#[derive(Clone)]
pub struct IdaCertificate {
    key: RsaPublicKey,
    thumbprint: [u8; 32],
}

impl std::fmt::Debug for IdaCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdaCertificate({})", hex::encode(&self.thumbprint[..8]))
    }
}

impl IdaCertificate {
    /// A PEM certificate holding an RSA key.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let (key, der) = rsa_certificate(pem)?;
        Ok(IdaCertificate { key, thumbprint: Sha256::digest(&der).into() })
    }

    pub fn thumbprint(&self) -> [u8; 32] {
        self.thumbprint
    }
}

/// The RSA key of a PEM certificate, and the certificate's DER.
fn rsa_certificate(pem: &str) -> Result<(RsaPublicKey, Vec<u8>), String> {
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
    if label != "CERTIFICATE" {
        return Err(format!("a PEM {label}, not a certificate"));
    }
    let cert = x509_cert::Certificate::from_der(&der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
    let key = RsaPublicKey::from_public_key_der(&spki).map_err(|e| format!("not an RSA key: {e}"))?;
    Ok((key, der))
}

/// The encrypted fields of an authentication request, as they go on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub request: String,
    pub request_session_key: String,
    pub request_hmac: String,
    pub thumbprint: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// URL-safe base64, with or without padding (as Java's URL decoder takes it).
fn unb64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    URL_SAFE_NO_PAD.decode(text).or_else(|_| URL_SAFE.decode(text)).ok()
}

fn seal_with(key: &[u8; 32], plaintext: &[u8], rng: &mut (impl RngCore + CryptoRng)) -> Result<Vec<u8>, String> {
    let cipher = Aes256Gcm16::new(key.into());
    let mut iv = [0u8; IV_LEN];
    rng.fill_bytes(&mut iv);
    let mut out = cipher.encrypt(Nonce::<U16>::from_slice(&iv), plaintext).map_err(|_| "AES-GCM failed".to_owned())?;
    out.extend_from_slice(&iv);
    Ok(out)
}

fn open_with(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < IV_LEN + TAG_LEN {
        return None;
    }
    let (body, iv) = sealed.split_at(sealed.len() - IV_LEN);
    Aes256Gcm16::new(key.into()).decrypt(Nonce::<U16>::from_slice(iv), body).ok()
}

/// The upper-case hex SHA-256 that `requestHMAC` carries.
fn digest_text(plaintext: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(plaintext))
}

/// Seals `plaintext` (the JSON of the request's `request` object) for the holder of `cert`.
pub fn seal(cert: &IdaCertificate, plaintext: &[u8], rng: &mut (impl RngCore + CryptoRng)) -> Result<Sealed, String> {
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    rng.fill_bytes(key.as_mut());
    let wrapped =
        cert.key.encrypt(rng, Oaep::new::<Sha256>(), key.as_ref()).map_err(|e| format!("RSA-OAEP failed: {e}"))?;
    Ok(Sealed {
        request: b64(&seal_with(&key, plaintext, rng)?),
        request_session_key: b64(&wrapped),
        request_hmac: b64(&seal_with(&key, digest_text(plaintext).as_bytes(), rng)?),
        thumbprint: b64(&cert.thumbprint),
    })
}

/// Why a sealed request did not open; IDA's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFault {
    /// Not for this key, or not decryptable (IDA-MPA-003).
    Decryption,
    /// The HMAC does not match the request (IDA-MPA-016).
    Hmac,
}

impl OpenFault {
    pub fn code(self) -> &'static str {
        match self {
            OpenFault::Decryption => "IDA-MPA-003",
            OpenFault::Hmac => "IDA-MPA-016",
        }
    }
}

/// The thumbprint as it came: hex first, else URL-safe base64 (as IDA reads it).
fn thumbprint_bytes(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.trim()).ok().or_else(|| unb64(text))
}

/// Opens a sealed request with the key whose certificate has `thumbprint`: the plaintext, once the
/// HMAC holds.
pub fn open(key: &RsaPrivateKey, thumbprint: &[u8; 32], sealed: &Sealed) -> Result<Vec<u8>, OpenFault> {
    if thumbprint_bytes(&sealed.thumbprint).as_deref() != Some(&thumbprint[..]) {
        return Err(OpenFault::Decryption);
    }
    let wrapped = unb64(&sealed.request_session_key).ok_or(OpenFault::Decryption)?;
    // blinded: the wrapped key is anyone's to choose, and unblinded RSA decryption leaks timing
    // (RUSTSEC-2023-0071)
    let session = zeroize::Zeroizing::new(
        key.decrypt_blinded(&mut resident_domain::clock::rng(), Oaep::new::<Sha256>(), &wrapped)
            .map_err(|_| OpenFault::Decryption)?,
    );
    let session: [u8; 32] = session.as_slice().try_into().map_err(|_| OpenFault::Decryption)?;
    let session = zeroize::Zeroizing::new(session);
    let plaintext = unb64(&sealed.request).and_then(|r| open_with(&session, &r)).ok_or(OpenFault::Decryption)?;
    let hmac = unb64(&sealed.request_hmac).and_then(|h| open_with(&session, &h)).ok_or(OpenFault::Hmac)?;
    if hmac != digest_text(&plaintext).as_bytes() {
        return Err(OpenFault::Hmac);
    }
    Ok(plaintext)
}

/// A key pair of the embedded key manager (IDA's `INTERNAL` key, the `RESIDENT` signing key):
/// derived from a seed every replica shares, with its self-signed certificate.
pub struct InternalKeys {
    key: RsaPrivateKey,
    certificate_pem: String,
    thumbprint: [u8; 32],
}

/// The IDA `INTERNAL` key's certificate subject.
pub const IDA_INTERNAL_SUBJECT: &str = "CN=IDA-INTERNAL,OU=IDA,O=Resident Services";
/// The `RESIDENT` signing key's certificate subject.
pub const RESIDENT_SIGN_SUBJECT: &str = "CN=RESIDENT-SIGN,OU=RESIDENT,O=Resident Services";

impl std::fmt::Debug for InternalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InternalKeys({})", hex::encode(&self.thumbprint[..8]))
    }
}

impl InternalKeys {
    /// The 2048-bit key pair and certificate of `seed` (slow: a second or more; call it once, off the
    /// async threads). The same seed gives the same key and certificate.
    pub fn derive(seed: &[u8; 32], subject: &str) -> Result<Self, String> {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(*seed);
        let key = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| format!("RSA key generation failed: {e}"))?;
        let der = self_signed(&key, subject)?;
        let certificate_pem =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &der).map_err(|e| e.to_string())?;
        Ok(InternalKeys { key, certificate_pem, thumbprint: Sha256::digest(&der).into() })
    }

    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Opens a request sealed for this key's certificate.
    pub fn open(&self, sealed: &Sealed) -> Result<Vec<u8>, OpenFault> {
        open(&self.key, &self.thumbprint, sealed)
    }

    /// A compact JWS of `payload` (a JSON text), RS256, naming this key by its certificate's
    /// SHA-256 thumbprint (`x5t#S256`), as MOSIP's key manager answers `jwtSign` with
    /// `includeCertHash` (and the certificate in `x5c` when asked). The signature is blinded (signed with a random number generator).
    pub fn jwt_sign(&self, payload: &str, with_certificate: bool) -> Result<String, String> {
        use rsa::signature::{RandomizedSigner, SignatureEncoding};
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t#S256": b64(&self.thumbprint)});
        if with_certificate {
            let (_, der) = pem_rfc7468::decode_vec(self.certificate_pem.as_bytes()).map_err(|e| e.to_string())?;
            header["x5c"] = serde_json::json!([base64::engine::general_purpose::STANDARD.encode(der)]);
        }
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload.as_bytes()));
        let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(self.key.clone());
        let signature = signer
            .try_sign_with_rng(&mut resident_domain::clock::rng(), input.as_bytes())
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok(format!("{input}.{}", b64(&signature.to_bytes())))
    }
}

/// A certificate's RSA key as a JSON Web Key (RFC 7517/7518) that verifies RS256 signatures, named
/// by the certificate's SHA-256 thumbprint (its `kid` and its `x5t#S256`, which is how a MOSIP key
/// manager's JWS names it) and carrying the certificate (`x5c`).
pub fn jwk_of_certificate(pem: &str) -> Result<serde_json::Value, String> {
    use rsa::traits::PublicKeyParts;
    let (key, der) = rsa_certificate(pem)?;
    let thumbprint = b64(&Sha256::digest(&der));
    Ok(serde_json::json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": thumbprint, "x5t#S256": thumbprint,
        "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()),
        "x5c": [base64::engine::general_purpose::STANDARD.encode(&der)],
    }))
}

/// A self-signed certificate of `key` for `subject`, valid 2025–2035: deterministic, since PKCS#1
/// v1.5 signatures are.
fn self_signed(key: &RsaPrivateKey, subject: &str) -> Result<Vec<u8>, String> {
    use std::str::FromStr;
    use std::time::Duration;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    use x509_cert::time::{Time, Validity};

    let err = |e: &dyn std::fmt::Display| format!("certificate: {e}");
    let spki_der = key.to_public_key().to_public_key_der().map_err(|e| err(&e))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).map_err(|e| err(&e))?;
    let at = |secs: u64| -> Result<Time, String> {
        let t = x509_cert::der::asn1::UtcTime::from_unix_duration(Duration::from_secs(secs)).map_err(|e| err(&e))?;
        Ok(Time::UtcTime(t))
    };
    // 2025-01-01 and 2035-01-01, UTC
    let validity = Validity { not_before: at(1_735_689_600)?, not_after: at(2_051_222_400)? };
    let subject = Name::from_str(subject).map_err(|e| err(&e))?;
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let builder = CertificateBuilder::new(Profile::Root, SerialNumber::from(1u32), validity, subject, spki, &signer)
        .map_err(|e| err(&e))?;
    let cert = builder.build::<rsa::pkcs1v15::Signature>().map_err(|e| err(&e))?;
    cert.to_der().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> InternalKeys {
        InternalKeys::derive(&[7u8; 32], IDA_INTERNAL_SUBJECT).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn a_sealed_request_opens_with_the_certificates_key_only() {
        let keys = keys();
        let cert = IdaCertificate::from_pem(keys.certificate_pem()).unwrap_or_else(|e| unreachable!("{e}"));
        let plain = br#"{"otp":"111111","timestamp":"2026-12-06T12:00:00.000Z"}"#;
        let sealed = seal(&cert, plain, &mut resident_domain::clock::rng()).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(keys.open(&sealed).as_deref(), Ok(&plain[..]));
        // MOSIP's layout: ciphertext, 16-byte tag, 16-byte IV
        assert_eq!(unb64(&sealed.request).map(|r| r.len()), Some(plain.len() + 32));
        assert_eq!(unb64(&sealed.request_session_key).map(|k| k.len()), Some(256));
        assert!(!sealed.request.contains('=') && !sealed.request.contains('+') && !sealed.request.contains('/'));

        let mut tampered = sealed.clone();
        tampered.request_hmac = sealed.request.clone();
        assert_eq!(keys.open(&tampered), Err(OpenFault::Hmac));
        let other = InternalKeys::derive(&[8u8; 32], IDA_INTERNAL_SUBJECT).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(other.open(&sealed), Err(OpenFault::Decryption));
        let mut renamed = sealed.clone();
        renamed.thumbprint = b64(&[0u8; 32]);
        assert_eq!(keys.open(&renamed), Err(OpenFault::Decryption));
    }

    #[test]
    fn the_same_seed_gives_the_same_certificate() {
        assert_eq!(keys().certificate_pem(), keys().certificate_pem());
        assert!(keys().certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
