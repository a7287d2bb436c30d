//! The evidence of a stamp used end to end, as the server and the offline verifier use it: a
//! stamp token signed by an organisation key, put in a QR code, scanned, and checked with the
//! published key set; the token logged, and its inclusion proved against a signed checkpoint
//! that the key set's log key verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use seal_proof::keyset::{KeySet, LogKey, PublishedKey};
use seal_proof::merkle::{MemoryTree, leaf_hash, verify_consistency, verify_inclusion};
use seal_proof::note::{Checkpoint, NoteVerifier, open_checkpoint, sign_checkpoint};
use seal_proof::qr_payload::{QrPayload, stamp_code};
use seal_proof::token::{StampClaims, document_prefix, read_token, sign_token};
use seal_proof::{PublicKey, SigningKey};

const ORIGIN: &str = "sk.example/log";
/// 2026-11-22T08:30:00Z.
const NOW: u64 = 1_795_336_200;

struct Server {
    org_key: SigningKey,
    log_key: SigningKey,
    log: MemoryTree,
}

impl Server {
    fn new() -> Self {
        Self {
            org_key: SigningKey::generate(),
            log_key: SigningKey::generate(),
            log: MemoryTree::new(),
        }
    }

    fn key_set(&self) -> String {
        let set = KeySet {
            issuer: "HTTPS://SK.EXAMPLE".to_owned(),
            generated_at: "2026-11-22T08:30:00Z".to_owned(),
            log: Some(LogKey {
                origin: ORIGIN.to_owned(),
                vkey: NoteVerifier::new(ORIGIN, self.log_key.public_key())
                    .unwrap()
                    .to_vkey(),
            }),
            keys: vec![
                PublishedKey::new(
                    &self.org_key.public_key(),
                    "org-1",
                    "示例科技有限公司",
                    "2026-01-01T00:00:00Z",
                    None,
                )
                .unwrap(),
            ],
        };
        set.to_json().unwrap()
    }

    /// Stamps: signs the token and logs it; returns the token and its leaf index.
    fn stamp(&mut self, claims: &StampClaims) -> (Vec<u8>, u64) {
        let token = sign_token(claims, &self.org_key).unwrap();
        let index = self.log.size();
        self.log.append_entry(&token).unwrap();
        (token, index)
    }

    fn checkpoint(&self) -> String {
        let checkpoint = Checkpoint::new(ORIGIN, self.log.size(), self.log.root());
        sign_checkpoint(&checkpoint, ORIGIN, &self.log_key).unwrap()
    }
}

fn claims(n: u8) -> StampClaims {
    StampClaims {
        stamp_id: [n; 16],
        seal_id: [0x5e; 16],
        time: NOW + u64::from(n),
        document_prefix: Some(document_prefix(&[n; 32])),
    }
}

#[test]
fn an_offline_qr_code_verifies_with_the_cached_key_set() {
    let mut server = Server::new();
    let (token, _) = server.stamp(&claims(1));
    let qr_text = QrPayload::Token(token).format();

    // The verifier has only the key set JSON and the scanned text.
    let set = KeySet::from_json(&server.key_set()).unwrap();
    let QrPayload::Token(bytes) = QrPayload::parse(&qr_text).unwrap() else {
        panic!("not the offline form");
    };
    let stamp = set.verify_token(&bytes).unwrap();
    assert_eq!(stamp.claims, claims(1));
    assert_eq!(stamp.key.org_id, "org-1");

    // The same, step by step: read, find the key by its short id, verify.
    let unverified = read_token(&bytes).unwrap();
    let key = set.find(&unverified.short_kid()).unwrap();
    let public: PublicKey = key.public_key().unwrap();
    assert_eq!(unverified.verify(&public), Ok(claims(1)));
}

#[test]
fn the_short_url_names_the_stamp_and_fits_a_small_qr_code() {
    let payload = QrPayload::Url {
        base: "HTTPS://SK.EXAMPLE".to_owned(),
        stamp_id: claims(7).stamp_id,
    };
    let text = payload.format();
    assert_eq!(text.len(), "HTTPS://SK.EXAMPLE/V/".len() + 26);
    assert!(text.ends_with(&stamp_code(&claims(7).stamp_id)));
    assert_eq!(
        QrPayload::parse(&text.to_lowercase()).map(|p| match p {
            QrPayload::Url { stamp_id, .. } => stamp_id,
            QrPayload::Token(_) => [0; 16],
        }),
        Ok(claims(7).stamp_id)
    );
}

#[test]
fn a_logged_stamp_is_proved_against_a_signed_checkpoint() {
    let mut server = Server::new();
    let mut stamps = Vec::new();
    for n in 0..20 {
        stamps.push(server.stamp(&claims(n)));
    }
    let old_checkpoint = server.checkpoint();
    for n in 20..37 {
        stamps.push(server.stamp(&claims(n)));
    }
    let new_checkpoint = server.checkpoint();

    let set = KeySet::from_json(&server.key_set()).unwrap();
    let verifier = set.log_verifier().unwrap().unwrap();
    let origin = set.log.as_ref().map(|log| log.origin.as_str());
    let old = open_checkpoint(&old_checkpoint, std::slice::from_ref(&verifier), origin).unwrap();
    let new = open_checkpoint(&new_checkpoint, std::slice::from_ref(&verifier), origin).unwrap();
    assert_eq!((old.size, new.size), (20, 37));

    for (token, index) in &stamps {
        let proof = server.log.inclusion_proof(*index, new.size).unwrap();
        assert_eq!(
            verify_inclusion(&leaf_hash(token), *index, new.size, &proof, &new.root),
            Ok(())
        );
        assert!(
            verify_inclusion(&leaf_hash(b"forged"), *index, new.size, &proof, &new.root).is_err()
        );
    }
    let consistency = server.log.consistency_proof(old.size, new.size).unwrap();
    assert_eq!(
        verify_consistency(old.size, new.size, &consistency, &old.root, &new.root),
        Ok(())
    );

    // A checkpoint signed by another key, or for another log, is refused.
    let rogue = SigningKey::generate();
    let forged = sign_checkpoint(&Checkpoint::new(ORIGIN, 37, [0; 32]), ORIGIN, &rogue).unwrap();
    assert!(open_checkpoint(&forged, std::slice::from_ref(&verifier), origin).is_err());
    assert!(open_checkpoint(&new_checkpoint, &[verifier], Some("other.example/log")).is_err());
}
