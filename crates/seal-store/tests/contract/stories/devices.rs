//! Stories of devices: a device round-trips with its telemetry and stays in its
//! organisation; a serial or MAC address is enrolled once (until revoked); nonces are
//! remembered once; stamps are stored once per (device, sequence number); a device has
//! at most one standing alarm of a kind; commands are acknowledged once.

use seal_core::alarm::{AlarmKind, AlarmStatus};
use seal_core::device::{
    CommandKind, CommandStatus, DeviceKind, DeviceParameters, DeviceStatus, Firmware, GeoPoint,
    Geofence, MacAddress, SerialNumber,
};
use seal_core::ids::{AlarmId, CommandId, DeviceId, StampId};
use seal_store::{
    AlarmFilter, AlarmRecord, CommandRecord, DeviceRecord, Fix, StampKind, StampRecord, Store,
    StoreError, Telemetry,
};

use crate::contract::fixtures::{at, fresh_uuid, world};

pub(crate) fn device(org: seal_core::ids::OrgId, serial: &str, mac: &str) -> DeviceRecord {
    DeviceRecord {
        id: DeviceId::from_uuid(fresh_uuid()),
        org_id: org,
        kind: DeviceKind::SealBox,
        status: DeviceStatus::Pending,
        public_key: format!("key-{}", fresh_uuid()),
        serial: SerialNumber::parse(serial).unwrap(),
        mac: MacAddress::parse(mac).unwrap(),
        firmware: Firmware::parse("1.0.0").unwrap(),
        seal: None,
        terminal: None,
        geofence: None,
        parameters: DeviceParameters::default(),
        enrolled_at: at(1),
        status_changed_at: at(1),
        status_changed_by: None,
        telemetry: Telemetry::default(),
    }
}

pub(crate) fn stamp(d: &DeviceRecord, seq: i64) -> StampRecord {
    StampRecord {
        id: StampId::from_uuid(fresh_uuid()),
        org_id: d.org_id,
        device: d.id,
        seq: Some(seq),
        kind: StampKind::Press,
        grant: None,
        application: None,
        seal: None,
        device_time: at(seq),
        received_at: at(seq),
        fix: Some(Fix {
            point: GeoPoint::new(31.2304, 121.4737).unwrap(),
            accuracy_m: 8,
        }),
        press_ms: 400,
        factors: "fingerprint,face".to_owned(),
        photo_key: None,
        photo_sha256: None,
        beyond_grant: true,
        document_sha256: Some("ab".repeat(32)),
        page: Some(1),
        token: Some(vec![0xd2, 0x84]),
    }
}

fn alarm(d: &DeviceRecord, kind: AlarmKind) -> AlarmRecord {
    AlarmRecord {
        id: AlarmId::from_uuid(fresh_uuid()),
        org_id: d.org_id,
        kind,
        severity: kind.severity(),
        status: AlarmStatus::Open,
        device: Some(d.id),
        seal: None,
        application: None,
        details: "test".to_owned(),
        occurrences: 1,
        raised_at: at(5),
        last_at: at(5),
        acknowledged_at: None,
        acknowledged_by: None,
        acknowledge_note: String::new(),
        resolved_at: None,
        resolved_by: None,
        resolve_note: String::new(),
    }
}

pub async fn devices_round_trip_and_stay_in_their_organisation(store: Store) {
    let a = world(&store, "dev-a").await;
    let b = world(&store, "dev-b").await;
    let mut d = device(a.org.id, "SB-0001", "02:00:5e:10:00:01");
    let mut tx = store.write().await.unwrap();
    tx.insert_device(&d).await.unwrap();
    d.status = DeviceStatus::Active;
    d.geofence = Some(Geofence::new(GeoPoint::new(31.23, 121.47).unwrap(), 500).unwrap());
    d.parameters = DeviceParameters::new(10, 2000, 20).unwrap();
    tx.update_device(&d).await.unwrap();
    d.telemetry = Telemetry {
        last_seen_at: Some(at(9)),
        online: true,
        battery_pct: Some(77),
        fix: Some(Fix {
            point: GeoPoint::new(31.2304567, 121.4737891).unwrap(),
            accuracy_m: 5,
        }),
        on_base: Some(true),
        tamper: Some(false),
        locked: Some(true),
        buffered_events: Some(3),
    };
    tx.update_telemetry(a.org.id, d.id, &d.telemetry)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.device(a.org.id, d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(tx.device(b.org.id, d.id).await.unwrap(), None, "scoped");
    assert!(tx.devices(b.org.id).await.unwrap().is_empty());
    assert_eq!(
        tx.device_for_signature(d.id).await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        tx.devices_gone_silent(at(10)).await.unwrap().len(),
        1,
        "seen at 9, silent before 10"
    );
    assert!(tx.devices_gone_silent(at(9)).await.unwrap().is_empty());
}

pub async fn serials_and_macs_are_enrolled_once_until_revoked(store: Store) {
    let a = world(&store, "dev-c").await;
    let b = world(&store, "dev-d").await;
    let first = device(a.org.id, "SB-0002", "02:00:5e:10:00:02");
    let mut tx = store.write().await.unwrap();
    tx.insert_device(&first).await.unwrap();
    tx.commit().await.unwrap();
    for twin in [
        device(a.org.id, "SB-0002", "02:00:5e:10:00:99"),
        device(a.org.id, "SB-0099", "02:00:5e:10:00:02"),
    ] {
        let mut tx = store.write().await.unwrap();
        assert!(matches!(
            tx.insert_device(&twin).await,
            Err(StoreError::Conflict)
        ));
    }
    // Another organisation may hold the same serial.
    let mut tx = store.write().await.unwrap();
    tx.insert_device(&device(b.org.id, "SB-0002", "02:00:5e:10:00:02"))
        .await
        .unwrap();
    // Once revoked, the serial may be enrolled again.
    let mut revoked = first.clone();
    revoked.status = DeviceStatus::Revoked;
    tx.update_device(&revoked).await.unwrap();
    tx.insert_device(&device(a.org.id, "SB-0002", "02:00:5e:10:00:02"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub async fn nonces_stamps_alarms_and_commands_happen_once(store: Store) {
    let a = world(&store, "dev-e").await;
    let d = device(a.org.id, "SB-0003", "02:00:5e:10:00:03");
    let mut tx = store.write().await.unwrap();
    tx.insert_device(&d).await.unwrap();
    assert!(tx.remember_nonce("k", "n1", at(1)).await.unwrap());
    assert!(
        !tx.remember_nonce("k", "n1", at(2)).await.unwrap(),
        "replay"
    );
    assert!(tx.remember_nonce("other", "n1", at(2)).await.unwrap());
    assert_eq!(tx.forget_nonces(at(2)).await.unwrap(), 1);
    assert!(tx.remember_nonce("k", "n1", at(3)).await.unwrap());

    let s1 = stamp(&d, 1);
    assert!(tx.insert_stamp(&s1).await.unwrap());
    assert!(!tx.insert_stamp(&stamp(&d, 1)).await.unwrap(), "same seq");
    assert!(tx.insert_stamp(&stamp(&d, 2)).await.unwrap());
    let known = tx.known_stamp_seqs(&[(d.id, 1, 3)]).await.unwrap();
    assert!(known.contains(&(d.id, 1)));
    assert!(!known.contains(&(d.id, 3)));
    assert_eq!(tx.stamp(a.org.id, s1.id).await.unwrap(), Some(s1.clone()));
    assert_eq!(
        tx.stamps_for_device(a.org.id, d.id, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    let tamper = alarm(&d, AlarmKind::Tamper);
    tx.insert_alarm(&tamper).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert!(
        matches!(
            tx.insert_alarm(&alarm(&d, AlarmKind::Tamper)).await,
            Err(StoreError::Conflict)
        ),
        "one standing alarm of a kind per device"
    );
    drop(tx);
    let mut tx = store.write().await.unwrap();
    tx.insert_alarm(&alarm(&d, AlarmKind::LowBattery))
        .await
        .unwrap();
    let mut resolved = tamper.clone();
    resolved.status = AlarmStatus::Resolved;
    resolved.resolved_at = Some(at(6));
    resolved.resolved_by = Some("person:x".to_owned());
    tx.update_alarm(&resolved).await.unwrap();
    tx.insert_alarm(&alarm(&d, AlarmKind::Tamper))
        .await
        .unwrap();
    let standing = tx
        .standing_alarm(a.org.id, d.id, AlarmKind::Tamper)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(standing.id, tamper.id);
    let open = tx
        .alarms(
            a.org.id,
            &AlarmFilter {
                statuses: vec![AlarmStatus::Open],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(open.len(), 2);

    let command = CommandRecord {
        id: CommandId::from_uuid(fresh_uuid()),
        org_id: a.org.id,
        device: d.id,
        kind: CommandKind::UpdateParameters,
        grant: None,
        parameters: Some(DeviceParameters::new(60, 1500, 10).unwrap()),
        status: CommandStatus::Pending,
        created_at: at(7),
        created_by: "person:x".to_owned(),
        sent_count: 0,
        acked_at: None,
        note: String::new(),
    };
    tx.insert_command(&command).await.unwrap();
    assert_eq!(
        tx.pending_commands(a.org.id, d.id).await.unwrap(),
        vec![command.clone()]
    );
    let mut done = command.clone();
    done.status = CommandStatus::Done;
    done.acked_at = Some(at(8));
    assert!(tx.ack_command(&done).await.unwrap());
    assert!(!tx.ack_command(&done).await.unwrap(), "acknowledged once");
    assert!(
        tx.pending_commands(a.org.id, d.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.command(a.org.id, d.id, command.id).await.unwrap(),
        Some(done)
    );
    tx.commit().await.unwrap();
}
