//! How large the QR codes get: the short URL fits version 4 and the offline token
//! version 10 at level M, both in alphanumeric mode; longer texts are refused with the
//! version they would need.

use seal_docs::qr::MAX_QR_VERSION;
use seal_docs::{QrError, QrForm, QrMode, QrSymbol};

use crate::stamp_marks::corpus::{offline_text, url_text};

#[test]
fn a_realistic_short_url_fits_version_4() {
    // A 60-character upper-case URL: host, path and a 26-character Base32 id.
    let url = format!("HTTPS://VERIFY.SEAL.EXAMPLE.COM/V/{}", &url_text(7)[27..]);
    assert_eq!(url.len(), 60, "{url}");
    let symbol = QrSymbol::encode(&url, QrForm::ShortUrl.max_version()).unwrap();
    assert_eq!(symbol.modes(), &[QrMode::Alphanumeric]);
    // 60 characters: version 3 holds 61 in alphanumeric mode.
    assert_eq!(symbol.version(), 3);
    // The longest URL version 4 holds in alphanumeric mode (90 characters)...
    let longest = format!("{url}{}", "A".repeat(30));
    assert_eq!(QrSymbol::encode(&longest, 4).unwrap().version(), 4);
    // ... and one character more needs version 5.
    assert_eq!(
        QrSymbol::encode(&format!("{longest}A"), 4),
        Err(QrError::TooLong {
            chars: 91,
            needed: 5,
            max: 4
        })
    );
}

#[test]
fn the_same_url_in_lower_case_would_need_byte_mode() {
    // Why the URL is upper case: in byte mode its 53 characters need version 4, in
    // alphanumeric mode version 3.
    let lower = url_text(7).to_lowercase();
    let symbol = QrSymbol::encode(&lower, 40).unwrap();
    assert!(symbol.modes().contains(&QrMode::Byte));
    assert!(symbol.version() > QrSymbol::encode(&url_text(7), 40).unwrap().version());
}

#[test]
fn a_240_character_offline_token_fits_version_10() {
    let token = offline_text(11, 240);
    assert_eq!(token.len(), 240);
    let symbol = QrSymbol::encode(&token, QrForm::Offline.max_version()).unwrap();
    assert_eq!(symbol.modes(), &[QrMode::Alphanumeric]);
    assert_eq!(symbol.version(), 9);
    // Version 10 holds 311 alphanumeric characters at level M; 312 need version 11.
    assert_eq!(
        QrSymbol::encode(&offline_text(11, 311), 10)
            .unwrap()
            .version(),
        10
    );
    assert_eq!(
        QrSymbol::encode(&offline_text(11, 312), 10),
        Err(QrError::TooLong {
            chars: 312,
            needed: 11,
            max: 10
        })
    );
}

#[test]
fn texts_beyond_every_version_are_refused() {
    assert_eq!(
        QrSymbol::encode(&"a".repeat(3000), MAX_QR_VERSION),
        Err(QrError::TooLongForAnyVersion { chars: 3000 })
    );
    assert_eq!(QrSymbol::encode("", 4), Err(QrError::Empty));
    assert_eq!(
        QrSymbol::encode("X", 0),
        Err(QrError::MaxVersionOutOfRange(0))
    );
}
