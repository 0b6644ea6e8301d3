//! Proof documents uploaded ahead of an update: sealed at rest, found only by their owner and
//! transaction, at most so many per transaction, deleted with their effects, swept when old.

use resident_domain::audit::AuditEvent;
use resident_domain::history::IdentityToken;
use resident_domain::ports::Effects;
use resident_domain::update::DocumentFormat;
use resident_domain::update::uploads::{Upload, UploadStore};
use resident_testkit::{Db, t0};

use super::{ctx, fresh, raw};

fn upload(id: &str, token: &str, txn: &str, content: &[u8]) -> Upload {
    Upload {
        id: id.into(),
        token: IdentityToken(token.into()),
        transaction_id: txn.into(),
        field: "proofOfAddress".into(),
        category: "POA".into(),
        doc_type: "RNC".into(),
        name: "lease.pdf".into(),
        reference: Some("L-77".into()),
        format: DocumentFormat::Pdf,
        content: content.to_vec(),
        created_at: t0(),
    }
}

pub async fn uploads_are_sealed_bounded_owned_and_swept(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let effects = Effects {
        audit: vec![AuditEvent::DocumentUploaded.record(&ctx(), t0(), None, "uploaded")],
        ..Effects::default()
    };
    let secret = b"%PDF-1.4 Jane Doe's lease, 27 Avenue de France %%EOF";
    assert!(store.put_upload(&upload("doc-1", "jane", "3141592653", secret), 2, &effects, t0()).await.unwrap());
    let second = upload("doc-2", "jane", "3141592653", b"%PDF-1.4 second %%EOF");
    assert!(store.put_upload(&second, 2, &Effects::default(), t0()).await.unwrap());
    // its owner holds as many as allowed: refused, nothing written
    let third = upload("doc-3", "jane", "3141592653", b"%PDF-1.4 third %%EOF");
    assert!(!store.put_upload(&third, 2, &Effects::default(), t0()).await.unwrap());

    let jane = IdentityToken("jane".into());
    let found = store.uploads(&jane, "3141592653").await.unwrap();
    assert_eq!(found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["doc-1", "doc-2"]);
    assert_eq!(found[0], upload("doc-1", "jane", "3141592653", secret), "everything comes back as it went in");
    assert!(store.uploads(&IdentityToken("omar".into()), "3141592653").await.unwrap().is_empty(), "not another's");
    assert!(store.uploads(&jane, "2718281828").await.unwrap().is_empty(), "not another transaction's");

    // nothing of it in clear; the upload's audit record committed with it
    let pool = raw(&db).await;
    let data: Vec<Vec<u8>> = sqlx::query_scalar("SELECT data FROM update_upload").fetch_all(&pool).await.unwrap();
    assert!(data.iter().all(|d| !d.windows(4).any(|w| w == b"Jane" || w == b"leas" || w == b"L-77")));
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE description = 'uploaded'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);

    // deleted only by its owner, under its transaction
    let omar = IdentityToken("omar".into());
    assert!(!store.delete_upload(&omar, "3141592653", "doc-1", &Effects::default(), t0()).await.unwrap());
    assert!(!store.delete_upload(&jane, "2718281828", "doc-1", &Effects::default(), t0()).await.unwrap());
    assert!(store.delete_upload(&jane, "3141592653", "doc-1", &Effects::default(), t0()).await.unwrap());
    assert_eq!(store.uploads(&jane, "3141592653").await.unwrap().len(), 1);

    // taken by an update; swept when old
    store.drop_uploads(&jane, "3141592653").await.unwrap();
    assert!(store.uploads(&jane, "3141592653").await.unwrap().is_empty());
    let old = upload("doc-4", "jane", "1111111111", b"%PDF-1.4 old %%EOF");
    store.put_upload(&old, 2, &Effects::default(), t0()).await.unwrap();
    let fresh_one = Upload {
        created_at: t0() + time::Duration::hours(2),
        ..upload("doc-5", "jane", "1111111111", b"%PDF-1.4 new %%EOF")
    };
    store.put_upload(&fresh_one, 2, &Effects::default(), t0()).await.unwrap();
    assert_eq!(store.sweep_uploads(t0() + time::Duration::hours(1)).await.unwrap(), 1);
    let left = store.uploads(&jane, "1111111111").await.unwrap();
    assert_eq!(left.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["doc-5"]);
}
