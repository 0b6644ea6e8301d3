//! Credential requests in the store: a status moves only from where it is, a cancelled request
//! keeps no artefact, and the request id alone downloads once even when two callers race.

use resident_domain::credential::{
    CredentialData, CredentialJob, CredentialRecord, CredentialStatus, CredentialStore, DataChange,
};
use resident_domain::history::EventId;
use resident_domain::ports::Effects;
use resident_testkit::{Db, t0};

use super::{fresh, jane_resolved};

pub async fn a_credential_moves_once_and_its_request_id_downloads_once(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let id = resident_domain::clock::random_uuid();
    let record = CredentialRecord {
        request_id: id.clone(),
        identity_id: who.identity_id.clone(),
        token: who.token.clone(),
        event_id: EventId::parse("1234567890123456").unwrap(),
        partner_id: "print-01".into(),
        credential_type: "euin".into(),
        status: CredentialStatus::New,
        attributes: vec!["fullName".into()],
        encrypt: true,
        created_at: t0(),
        updated_at: t0(),
        fetched_by_request_id_at: None,
    };
    let job = CredentialJob { request_id: id.clone(), encryption_key: Some("k".into()) };
    store.create_credential_request(&record, &job, &Effects::default(), t0()).await.unwrap();
    let pdf = CredentialData { content_type: "application/pdf".into(), bytes: b"%PDF-1.7 card".to_vec() };
    let (new, issued, printed) = (CredentialStatus::New, CredentialStatus::Issued, CredentialStatus::Printed);
    let none = Effects::default();
    assert!(store.move_credential(&id, new, issued, DataChange::Set(&pdf), &none, t0()).await.unwrap());
    assert!(!store.move_credential(&id, new, issued, DataChange::Keep, &none, t0()).await.unwrap(), "only from NEW");
    assert!(store.move_credential(&id, issued, printed, DataChange::Keep, &none, t0()).await.unwrap());
    assert_eq!(store.credential_data(&id).await.unwrap().unwrap(), pdf, "kept through a move");

    // two downloads by request id at once: exactly one gets it; the owner's always count
    let later = t0() + time::Duration::minutes(1);
    let (a, b) =
        tokio::join!(store.record_download(&id, true, &none, later), store.record_download(&id, true, &none, later));
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|ok| **ok).count(), 1);
    assert!(!store.record_download(&id, true, &none, later).await.unwrap());
    assert!(store.record_download(&id, false, &none, later).await.unwrap());
    let read = store.credential_request(&id).await.unwrap().unwrap();
    assert_eq!(read.fetched_by_request_id_at, Some(later));
    assert_eq!(read.status, printed);

    // withdrawn, nothing is kept
    let cancelled = CredentialStatus::Cancelled;
    assert!(store.move_credential(&id, printed, cancelled, DataChange::Clear, &none, later).await.unwrap());
    assert!(store.credential_data(&id).await.unwrap().is_none());
    assert_eq!(store.credential_request(&id).await.unwrap().unwrap().status, cancelled);
}
