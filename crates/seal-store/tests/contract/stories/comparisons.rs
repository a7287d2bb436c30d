//! Stories of document comparisons: a comparison round-trips with every field, is logged
//! (under its stamp's subject, or its own), and stays in its organisation; a stamp has at
//! most one; comparisons refuse changes in place; the auditor's list filters and pages;
//! pending press photos are the press stamps with a photo and an application until their
//! comparison exists; thresholds default, are set, read back and refused when invalid.

use seal_core::application::{
    ApplicationNumber, Lifecycle, LongText, StampCount, StampKind as UseKind, Title, Window,
};
use seal_core::comparison::{
    ComparisonEntry, ComparisonSubject, ComparisonThresholds, ComparisonVerdict, PressCheck,
    ThresholdError,
};
use seal_core::ids::{ApplicationId, ComparisonId, DocumentId, SealId};
use seal_core::seal::{SealKind, SealLevel, SealName, SealShape, SealStatus, SealType};
use seal_core::stamp::EntryKind;
use seal_core::time::Timestamp;
use seal_store::{
    ApplicationRecord, ComparisonRecord, DeviceRecord, DocumentRecord, Evidence, SealRecord,
    StampKind, StampRecord, Store, StoreError, comparison_subject, stamp_subject,
};

use crate::contract::fixtures::{World, at, fresh_uuid, world};
use crate::contract::stories::devices::{device, stamp};

/// An organisation with a seal box, an application for its seal and one document.
struct Site {
    world: World,
    device: DeviceRecord,
    application: ApplicationRecord,
    document: DocumentRecord,
}

async fn site(store: &Store, code: &str, serial: &str, mac: &str) -> Site {
    let w = world(store, code).await;
    let d = device(w.org.id, serial, mac);
    let seal = SealRecord {
        id: SealId::from_uuid(fresh_uuid()),
        org_id: w.org.id,
        name: SealName::parse("合同专用章").unwrap(),
        kind: SealKind::SealBox,
        seal_type: SealType::Contract,
        shape: SealShape::Round { diameter_mm: 40 },
        level: SealLevel::new(2).unwrap(),
        keeper: None,
        status: SealStatus::Active,
        status_reason: String::new(),
        filing_code: None,
        flow: None,
        created_at: at(0),
        updated_at: at(0),
    };
    let application = ApplicationRecord {
        id: ApplicationId::from_uuid(fresh_uuid()),
        org_id: w.org.id,
        number: ApplicationNumber::new(&w.org.code, 2026, 1),
        applicant: w.person.id,
        department: None,
        seal: seal.id,
        stamp_kind: UseKind::Ordinary,
        title: Title::parse("采购合同").unwrap(),
        reason: LongText::parse("年度采购").unwrap(),
        lifecycle: Lifecycle::draft(
            Window::new(at(0), at(86_400), 30, at(0)).unwrap(),
            StampCount::new(5).unwrap(),
        ),
        submitted_at: None,
        decided_at: None,
        step_since: None,
        reminded_at: None,
        created_at: at(0),
        updated_at: at(0),
    };
    let document = DocumentRecord {
        id: DocumentId::from_uuid(fresh_uuid()),
        org_id: w.org.id,
        application: application.id,
        position: 0,
        name: "contract.pdf".to_owned(),
        media_type: "application/pdf".to_owned(),
        size_bytes: 1234,
        sha256: "cd".repeat(32),
        pages: 3,
        blob_key: format!("documents/{}", fresh_uuid()),
        thumbnail_key: format!("thumbnails/{}", fresh_uuid()),
        created_at: at(1),
    };
    let mut tx = store.write().await.unwrap();
    tx.insert_seal(&seal).await.unwrap();
    tx.insert_application(&application).await.unwrap();
    tx.insert_document(&document).await.unwrap();
    tx.insert_device(&d).await.unwrap();
    tx.commit().await.unwrap();
    Site {
        world: w,
        device: d,
        application,
        document,
    }
}

/// A press of the site's seal box under its application, with a photo.
fn press(site: &Site, seq: i64) -> StampRecord {
    StampRecord {
        application: Some(site.application.id),
        photo_key: Some(format!("photos/{}", fresh_uuid())),
        photo_sha256: Some("ef".repeat(32)),
        ..stamp(&site.device, seq)
    }
}

/// A press-photo comparison of `s` with every field set.
fn comparison_of(site: &Site, s: &StampRecord, verdict: ComparisonVerdict) -> ComparisonRecord {
    ComparisonRecord {
        id: ComparisonId::from_uuid(fresh_uuid()),
        org_id: site.world.org.id,
        subject: ComparisonSubject::PressPhoto,
        application: Some(site.application.id),
        stamp: Some(s.id),
        device: Some(site.device.id),
        document: Some(site.document.id),
        page: Some(2),
        verdict,
        score: 0.913_7,
        blank: verdict == ComparisonVerdict::Mismatch,
        differences: r#"[{"kind":"changed","approved":"¥12,000","captured":"¥72,000"}]"#.to_owned(),
        capture_key: s.photo_key.clone(),
        capture_sha256: s.photo_sha256.clone(),
        diff_key: Some(format!("diffs/{}", fresh_uuid())),
        engine: "pp-ocrv4 1".to_owned(),
        millis: 731,
        created_by: Some("system".to_owned()),
        created_at: at(100 + s.seq.unwrap_or(0)),
    }
}

/// A manual comparison (no stamp, no device) made at `seconds`.
fn manual(site: &Site, seconds: i64, verdict: ComparisonVerdict) -> ComparisonRecord {
    ComparisonRecord {
        id: ComparisonId::from_uuid(fresh_uuid()),
        org_id: site.world.org.id,
        subject: ComparisonSubject::Manual,
        application: Some(site.application.id),
        stamp: None,
        device: None,
        document: None,
        page: None,
        verdict,
        score: 0.25,
        blank: false,
        differences: "[]".to_owned(),
        capture_key: None,
        capture_sha256: None,
        diff_key: None,
        engine: "pp-ocrv4 1".to_owned(),
        millis: 0,
        created_by: Some(format!("person:{}", site.world.person.id)),
        created_at: at(seconds),
    }
}

pub async fn comparisons_round_trip_are_logged_and_stay_in_their_organisation(store: Store) {
    let a = site(&store, "cmp-a", "SB-0701", "02:00:5e:10:07:01").await;
    let b = site(&store, "cmp-b", "SB-0702", "02:00:5e:10:07:02").await;
    let s = press(&a, 1);
    let c = comparison_of(&a, &s, ComparisonVerdict::Mismatch);
    let m = manual(&a, 50, ComparisonVerdict::Uncertain);
    let mut tx = store.write().await.unwrap();
    tx.insert_stamp(&s).await.unwrap();
    tx.insert_comparison(&c).await.unwrap();
    tx.insert_comparison(&m).await.unwrap();
    tx.commit().await.unwrap();

    let org = a.world.org.id;
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.comparison(org, c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(tx.comparison(org, m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(
        tx.comparison_for_stamp(org, s.id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        tx.comparisons_for_application(org, a.application.id)
            .await
            .unwrap(),
        vec![c.clone(), m.clone()],
        "newest first"
    );

    // The stamp's comparison is logged next to the stamp; a manual one under its own id.
    let about = tx.log_entries_about(&stamp_subject(s.id)).await.unwrap();
    let kinds: Vec<_> = about.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EntryKind::Stamp, EntryKind::Comparison]);
    assert_eq!(about[1].org, Some(org));
    assert_eq!(about[1].at, c.created_at);
    let logged = ComparisonEntry::decode(&about[1].entry).unwrap();
    assert_eq!(logged, c.log_entry());
    assert_eq!(logged.stamp, Some(s.id));
    assert_eq!(logged.verdict, ComparisonVerdict::Mismatch);
    assert!(logged.blank);
    let own = tx
        .log_entries_about(&comparison_subject(m.id))
        .await
        .unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].kind, EntryKind::Comparison);
    assert_eq!(own[0].entry, m.log_entry().canonical_bytes());
    // The private details are bound by the digest.
    let mut changed = c.clone();
    changed.differences.push(' ');
    assert_ne!(changed.details_digest(), c.details_digest());
    let mut rescored = c.clone();
    rescored.score = 0.913_8;
    assert_ne!(rescored.details_digest(), c.details_digest());

    // Another organisation sees none of it.
    let other = b.world.org.id;
    assert_eq!(tx.comparison(other, c.id).await.unwrap(), None);
    assert_eq!(tx.comparison_for_stamp(other, s.id).await.unwrap(), None);
    assert!(
        tx.comparisons_for_application(other, a.application.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.comparisons(other, None, 0, None)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_stamp_has_at_most_one_comparison(store: Store) {
    let a = site(&store, "cmp-c", "SB-0703", "02:00:5e:10:07:03").await;
    let s = press(&a, 1);
    let first = comparison_of(&a, &s, ComparisonVerdict::Match);
    let mut tx = store.write().await.unwrap();
    tx.insert_stamp(&s).await.unwrap();
    tx.insert_comparison(&first).await.unwrap();
    tx.commit().await.unwrap();
    let size = store.read().await.unwrap().log_head().await.unwrap().size();

    let mut tx = store.write().await.unwrap();
    let second = comparison_of(&a, &s, ComparisonVerdict::Mismatch);
    let result = tx.insert_comparison(&second).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "got {result:?}"
    );
    drop(tx);
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.log_head().await.unwrap().size(), size, "nothing logged");
    assert_eq!(
        tx.comparison_for_stamp(a.world.org.id, s.id).await.unwrap(),
        Some(first)
    );
    // Comparisons without a stamp are not limited.
    let mut tx = store.write().await.unwrap();
    tx.insert_comparison(&manual(&a, 10, ComparisonVerdict::Match))
        .await
        .unwrap();
    tx.insert_comparison(&manual(&a, 11, ComparisonVerdict::Match))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub async fn comparisons_refuse_changes_in_place(store: Store) {
    let a = site(&store, "cmp-d", "SB-0704", "02:00:5e:10:07:04").await;
    let s = press(&a, 1);
    let mut tx = store.write().await.unwrap();
    tx.insert_stamp(&s).await.unwrap();
    tx.insert_comparison(&comparison_of(&a, &s, ComparisonVerdict::Mismatch))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for target in [Evidence::Comparison, Evidence::ComparisonDeleted] {
        let mut tx = store.write().await.unwrap();
        let message = tx
            .try_tamper_with_evidence(target)
            .await
            .expect_err(&format!("{target:?} must be refused"))
            .to_string();
        assert!(message.contains("append-only"), "{target:?}: {message}");
    }
    let mut tx = store.read().await.unwrap();
    let stored = tx.comparison_for_stamp(a.world.org.id, s.id).await.unwrap();
    assert_eq!(stored.map(|c| c.verdict), Some(ComparisonVerdict::Mismatch));
}

pub async fn the_auditors_list_filters_and_pages(store: Store) {
    let a = site(&store, "cmp-e", "SB-0705", "02:00:5e:10:07:05").await;
    let verdicts = [
        ComparisonVerdict::Match,
        ComparisonVerdict::Mismatch,
        ComparisonVerdict::Uncertain,
    ];
    // Eleven comparisons, several sharing a time, so the cursor must break ties by id.
    let all: Vec<ComparisonRecord> = (0..11)
        .map(|i| manual(&a, 200 + i / 3, verdicts[(i % 3) as usize]))
        .collect();
    let mut tx = store.write().await.unwrap();
    for c in &all {
        tx.insert_comparison(c).await.unwrap();
    }
    tx.commit().await.unwrap();
    let org = a.world.org.id;
    let mut expected = all.clone();
    expected.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id.to_string())));

    let mut tx = store.read().await.unwrap();
    let everything = tx.comparisons(org, None, 0, None).await.unwrap();
    assert_eq!(everything, expected, "newest first, then by id");

    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = tx.comparisons(org, None, 4, before).await.unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        before = Some(last.cursor());
        paged.extend(page);
    }
    assert_eq!(paged, expected, "pages in order, none twice, none missed");

    let mismatches = tx
        .comparisons(org, Some(ComparisonVerdict::Mismatch), 100, None)
        .await
        .unwrap();
    let wanted: Vec<_> = expected
        .iter()
        .filter(|c| c.verdict == ComparisonVerdict::Mismatch)
        .cloned()
        .collect();
    assert_eq!(mismatches, wanted);
    let older = tx
        .comparisons(
            org,
            Some(ComparisonVerdict::Match),
            2,
            Some(expected[0].cursor()),
        )
        .await
        .unwrap();
    let wanted: Vec<_> = expected[1..]
        .iter()
        .filter(|c| c.verdict == ComparisonVerdict::Match)
        .take(2)
        .cloned()
        .collect();
    assert_eq!(older, wanted);
}

pub async fn pending_press_photos_wait_for_their_comparison(store: Store) {
    let a = site(&store, "cmp-f", "SB-0706", "02:00:5e:10:07:06").await;
    let b = site(&store, "cmp-g", "SB-0707", "02:00:5e:10:07:07").await;
    let waiting = press(&a, 1);
    let no_photo = StampRecord {
        photo_key: None,
        photo_sha256: None,
        ..press(&a, 2)
    };
    let no_application = StampRecord {
        application: None,
        ..press(&a, 3)
    };
    let printed = StampRecord {
        kind: StampKind::Print,
        seq: None,
        ..press(&a, 4)
    };
    let elsewhere = press(&b, 5);
    let mut tx = store.write().await.unwrap();
    for s in [&waiting, &no_photo, &no_application, &printed, &elsewhere] {
        assert!(tx.insert_stamp(s).await.unwrap());
    }
    tx.commit().await.unwrap();

    let epoch = Timestamp::from_millis(0);
    let pending = |store: Store, since: Timestamp, limit: i64| async move {
        let mut tx = store.read().await.unwrap();
        tx.pending_press_photos(since, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.stamp)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pending(store.clone(), epoch, 10).await,
        vec![waiting.id, elsewhere.id],
        "every organisation's, oldest first, only presses with a photo and an application"
    );
    assert_eq!(pending(store.clone(), epoch, 1).await, vec![waiting.id]);
    assert_eq!(
        pending(store.clone(), at(2), 10).await,
        vec![elsewhere.id],
        "received before `since`"
    );
    let mut tx = store.read().await.unwrap();
    let first = tx.pending_press_photos(epoch, 1).await.unwrap().remove(0);
    assert_eq!(first.org_id, a.world.org.id);
    assert_eq!(first.device, a.device.id);
    assert_eq!(first.application, a.application.id);
    assert_eq!(Some(first.photo_key), waiting.photo_key);
    assert_eq!(first.photo_sha256, waiting.photo_sha256);
    assert_eq!(first.document_sha256, waiting.document_sha256);
    assert_eq!(first.page, waiting.page);
    assert_eq!(first.received_at, waiting.received_at);
    drop(tx);

    // Compared: no longer pending.
    let mut tx = store.write().await.unwrap();
    tx.insert_comparison(&comparison_of(&a, &waiting, ComparisonVerdict::Match))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(pending(store.clone(), epoch, 10).await, vec![elsewhere.id]);

    // An organisation whose press check is off has no queue.
    let off = ComparisonThresholds {
        press_check: PressCheck::Off,
        ..ComparisonThresholds::default()
    };
    let mut tx = store.write().await.unwrap();
    tx.set_comparison_thresholds(b.world.org.id, &off, "system", at(300))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(pending(store.clone(), epoch, 10).await.is_empty());
}

pub async fn thresholds_default_are_set_and_read_back(store: Store) {
    let a = world(&store, "cmp-h").await;
    let b = world(&store, "cmp-i").await;
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.comparison_thresholds(a.org.id).await.unwrap(),
        ComparisonThresholds::default(),
        "none stored: the defaults"
    );
    assert_eq!(
        tx.comparison_thresholds_record(a.org.id).await.unwrap(),
        None
    );
    drop(tx);

    let first = ComparisonThresholds {
        other_page_below: 0.42,
        match_at_least: 0.91,
        minor_per_100: 2.5,
        blank_chars_below: 20,
        press_check: PressCheck::Alarm,
    };
    let second = ComparisonThresholds {
        other_page_below: 0.3,
        match_at_least: 0.3,
        minor_per_100: 0.0,
        blank_chars_below: 10_000,
        press_check: PressCheck::Off,
    };
    let mut tx = store.write().await.unwrap();
    tx.set_comparison_thresholds(a.org.id, &first, "person:x", at(1))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.comparison_thresholds(a.org.id).await.unwrap(), first);
    drop(tx);
    let mut tx = store.write().await.unwrap();
    tx.set_comparison_thresholds(a.org.id, &second, "person:y", at(2))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let record = tx
        .comparison_thresholds_record(a.org.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.org_id, a.org.id);
    assert_eq!(record.thresholds, second, "replaced");
    assert_eq!(record.updated_at, at(2));
    assert_eq!(record.updated_by, "person:y");
    assert_eq!(
        tx.comparison_thresholds(b.org.id).await.unwrap(),
        ComparisonThresholds::default(),
        "another organisation keeps its own"
    );
    drop(tx);

    // Invalid thresholds: the domain says why, and the schema refuses them anyway.
    for (bad, why) in [
        (
            ComparisonThresholds {
                other_page_below: 0.9,
                match_at_least: 0.8,
                ..ComparisonThresholds::default()
            },
            ThresholdError::OtherPageAboveMatch,
        ),
        (
            ComparisonThresholds {
                minor_per_100: 101.0,
                ..ComparisonThresholds::default()
            },
            ThresholdError::MinorPer100,
        ),
        (
            ComparisonThresholds {
                blank_chars_below: 10_001,
                ..ComparisonThresholds::default()
            },
            ThresholdError::BlankChars,
        ),
        (
            ComparisonThresholds {
                match_at_least: 1.5,
                ..ComparisonThresholds::default()
            },
            ThresholdError::Similarity(seal_core::comparison::ThresholdField::MatchAtLeast),
        ),
    ] {
        assert_eq!(bad.validate(), Err(why));
        let mut tx = store.write().await.unwrap();
        let result = tx
            .set_comparison_thresholds(b.org.id, &bad, "person:z", at(3))
            .await;
        assert!(result.is_err(), "{bad:?} was stored");
    }
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.comparison_thresholds_record(b.org.id).await.unwrap(),
        None
    );
}
